//! What a permission failure lacks, in words: root is not enough where the capability set is
//! cut (a container's default keeps CAP_NET_RAW but drops CAP_NET_ADMIN, CAP_SYS_ADMIN and
//! CAP_SYS_PTRACE), so a remedy names the capability instead of saying "run as root" to root.
//!
//! The collector reads `/proc/self/status` (`CapEff`, capabilities(7)); when it ran as root
//! without a capability a source needed, it says so in that source's stderr with
//! [`root_without`], which travels in the snapshot's manifest, and [`remedy`] reads it back.

pub use portdoctor_model::host_sources::Cap;

/// Who the collector ran as: root or not, and its effective capability set (None when
/// /proc/self/status did not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    pub root: bool,
    pub effective: Option<u64>,
}

impl Privilege {
    /// From the text of `/proc/self/status` and the effective uid.
    pub fn from_status(status: &str, euid: u32) -> Privilege {
        let effective = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
        Privilege { root: euid == 0, effective }
    }

    pub fn has(&self, cap: Cap) -> bool {
        const DAC_OVERRIDE: u32 = 1;
        match self.effective {
            // CAP_DAC_OVERRIDE reads whatever CAP_DAC_READ_SEARCH reads (and more).
            Some(set) if cap == Cap::DacReadSearch => set & (1 << cap as u32 | 1 << DAC_OVERRIDE) != 0,
            Some(set) => set & (1u64 << cap as u32) != 0,
            None => self.root,
        }
    }

    /// The capabilities of `needed` this process does not hold.
    pub fn lacking(&self, needed: &[Cap]) -> Vec<Cap> {
        needed.iter().copied().filter(|c| !self.has(*c)).collect()
    }

    /// The note for a source's stderr when root lacked capabilities it needed; None when not
    /// root (then "run as root" is the right remedy) or nothing is lacking.
    pub fn root_without(&self, needed: &[Cap]) -> Option<String> {
        let lacking = self.lacking(needed);
        (self.root && !lacking.is_empty()).then(|| root_without(&lacking))
    }
}

const ROOT_WITHOUT: &str = "ran as root but without ";
const IN_EFFECTIVE_SET: &str = " in its effective capability set";

/// "portdoctor ran as root but without CAP_NET_ADMIN in its effective capability set".
pub fn root_without(lacking: &[Cap]) -> String {
    let names: Vec<&str> = lacking.iter().map(|c| c.name()).collect();
    format!("portdoctor {ROOT_WITHOUT}{}{IN_EFFECTIVE_SET}", names.join(" and "))
}

/// The remedy for a permission failure of something that needs `needed`: the capability when
/// `stderr` says root ran without it, else root (naming the capability all the same).
pub fn remedy(needed: &[Cap], stderr: &str) -> String {
    let names = |caps: &[Cap]| caps.iter().map(|c| c.name()).collect::<Vec<_>>().join(" and ");
    let flags =
        |caps: &[Cap]| caps.iter().map(|c| format!("--cap-add {}", &c.name()[4..])).collect::<Vec<_>>().join(" ");
    if needed.is_empty() {
        return "run portdoctor as root (sudo)".into();
    }
    if stderr.contains(ROOT_WITHOUT) {
        // Only what the note names is lacking (root may hold the rest).
        let lacking: Vec<Cap> = needed.iter().copied().filter(|c| stderr.contains(c.name())).collect();
        let lacking = if lacking.is_empty() { needed.to_vec() } else { lacking };
        return format!(
            "give portdoctor {}: being root is not enough where the capability set is cut (a container's default): e.g. `docker run {}`, or run it on the host",
            names(&lacking),
            flags(&lacking)
        );
    }
    format!("run portdoctor as root (sudo); it needs {}", names(needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container's default set (docker): CAP_NET_RAW kept, CAP_NET_ADMIN dropped.
    const DOCKER_DEFAULT: &str = "Name:\tportdoctor\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n";

    #[test]
    fn root_in_a_container_is_told_the_capability() {
        let p = Privilege::from_status(DOCKER_DEFAULT, 0);
        assert!(p.has(Cap::NetRaw) && !p.has(Cap::NetAdmin) && !p.has(Cap::SysAdmin));
        assert_eq!(p.lacking(&[Cap::NetAdmin, Cap::NetRaw]), [Cap::NetAdmin]);
        let note = p.root_without(&[Cap::NetAdmin]).unwrap();
        let r = remedy(&[Cap::NetAdmin], &format!("Permission denied ({note})"));
        assert!(r.contains("CAP_NET_ADMIN") && r.contains("--cap-add NET_ADMIN"), "{r}");
        assert!(!r.contains("as root (sudo)"), "{r}");
    }

    #[test]
    fn not_root_is_told_root_and_the_capability() {
        let p = Privilege::from_status("CapEff:\t0000000000000000\n", 1000);
        assert_eq!(p.root_without(&[Cap::NetAdmin]), None);
        let r = remedy(&[Cap::NetAdmin], "Permission denied (you must be root)");
        assert_eq!(r, "run portdoctor as root (sudo); it needs CAP_NET_ADMIN");
        // Full root: nothing lacking, no note.
        let full = Privilege::from_status("CapEff:\t000001ffffffffff\n", 0);
        assert_eq!(full.root_without(&[Cap::NetAdmin, Cap::SysAdmin]), None);
    }
}
