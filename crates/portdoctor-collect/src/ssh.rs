//! The host over SSH, agentless: the user's own `ssh` binary (their config, agent, ProxyJump,
//! known_hosts), one multiplexed connection (ControlMaster) reused for every command, BatchMode so
//! it never prompts. Only fixed command texts are sent; the destination is validated so no
//! character that a shell or an ssh_config `%h` expansion could act on gets through.

use portdoctor_model::Missing;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

fn host_ok(h: &str) -> bool {
    let inner = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h);
    !inner.is_empty()
        && !inner.starts_with('-')
        && inner.len() <= 253
        && inner.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
}

fn user_ok(u: &str) -> bool {
    !u.is_empty()
        && !u.starts_with('-')
        && u.len() <= 64
        && u.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl SshTarget {
    /// `[USER@]HOST` or `ssh://[USER@]HOST[:PORT]`. Anything else is refused, never passed on.
    pub fn parse(s: &str) -> Result<SshTarget, String> {
        let bad = |why: &str| Err(format!("--ssh '{}': {why}", s.escape_debug()));
        let (rest, url) = match s.strip_prefix("ssh://") {
            Some(r) => (r.trim_end_matches('/'), true),
            None => (s, false),
        };
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = match (url, hostport.rsplit_once(':')) {
            (true, Some((h, p))) if !h.ends_with(':') && (h.starts_with('[') || !h.contains(':')) => {
                match p.parse::<u16>() {
                    Ok(p) if p > 0 => (h, Some(p)),
                    _ => return bad("the port is not a number 1-65535"),
                }
            }
            _ => (hostport, None),
        };
        if let Some(u) = user
            && !user_ok(u)
        {
            return bad("the user name may hold only letters, digits, '.', '-' and '_'");
        }
        if !host_ok(host) {
            return bad(
                "the host may hold only letters, digits, '.', '-', '_', ':' and '%' (and may not start with '-')",
            );
        }
        Ok(SshTarget {
            user: user.map(str::to_string),
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port,
        })
    }

    pub fn display(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    pub config: Option<PathBuf>,
    pub options: Vec<String>,
    pub identity: Option<PathBuf>,
}

/// One multiplexed connection; closed (and its control socket removed) on drop.
pub struct Ssh {
    target: SshTarget,
    opts: SshOptions,
    dir: PathBuf,
    /// Asked once per connection: whether the login user is root, and where portdoctor is.
    root: std::sync::OnceLock<bool>,
    portdoctor: std::sync::OnceLock<Option<String>>,
}

/// Why SSH failed, in the user's terms, with what to do.
fn ssh_missing(target: &SshTarget, stderr: &str) -> Missing {
    let what = format!("the host over SSH ({})", target.display());
    let e = stderr.trim();
    let remedy = if e.contains("Permission denied") {
        "portdoctor runs ssh with BatchMode=yes and never asks for a password: load your key into ssh-agent (ssh-add), or give --ssh-identity FILE"
    } else if e.contains("Host key verification failed") {
        "the host key is not in known_hosts: connect once with ssh yourself to check and accept it"
    } else if e.contains("Could not resolve hostname") {
        "check the host name, or give an address"
    } else if e.contains("Connection refused") || e.contains("timed out") || e.contains("No route to host") {
        "check that sshd runs and port 22 (or your --ssh port) is reachable from here"
    } else {
        "run the same ssh command yourself to see the problem"
    };
    let reason = e.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("ssh failed").to_string();
    Missing::new(what, reason, remedy)
}

impl Ssh {
    /// Opens the connection (one round trip) or says why it cannot. That round trip also asks
    /// what every later step asks first — whether the login user is root, where portdoctor is
    /// installed — so the capture and the host's evidence do not each wait for two more.
    pub fn connect(target: SshTarget, opts: SshOptions) -> Result<Ssh, Missing> {
        let dir = private_dir(std::env::var_os("XDG_RUNTIME_DIR")).map_err(|e| {
            Missing::new(
                "a private folder for the ssh control socket",
                e.to_string(),
                "set TMPDIR (or XDG_RUNTIME_DIR) to a folder only you can write",
            )
        })?;
        let ssh = Ssh { target, opts, dir, root: Default::default(), portdoctor: Default::default() };
        let out = ssh.run(&["sh", "-c", LOGIN_FACTS]).map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut => ssh_missing(&ssh.target, &e.to_string()),
            _ => Missing::new("the host over SSH", format!("cannot run ssh: {e}"), "install the OpenSSH client (ssh)"),
        })?;
        if !out.status.success() {
            return Err(ssh_missing(&ssh.target, &String::from_utf8_lossy(&out.stderr)));
        }
        ssh.learn(&String::from_utf8_lossy(&out.stdout));
        Ok(ssh)
    }

    /// Keeps what `LOGIN_FACTS` printed: the uid, then portdoctor's path when installed. Output
    /// that is not that shape (a login banner on stdout, a forced command) is ignored, and each
    /// fact is asked on its own later, as without it.
    fn learn(&self, stdout: &str) {
        let mut lines = stdout.lines();
        let Some(uid) = lines.next().map(str::trim).filter(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_digit()))
        else {
            return;
        };
        let path = match (lines.next().map(str::trim), lines.next()) {
            (None, None) => None,
            (Some(p), None) if installed_path(p) => Some(p.to_string()),
            _ => return,
        };
        let _ = self.root.set(uid == "0");
        let _ = self.portdoctor.set(path);
    }

    fn control_path(&self) -> PathBuf {
        self.dir.join("cm")
    }

    /// `ssh <options> -- host 'remote words'`; every remote word is one of ours, quoted anyway.
    pub fn command(&self, remote: &[&str]) -> Command {
        let mut c = Command::new("ssh");
        c.args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "ControlMaster=auto",
            "-o",
            "ControlPersist=30",
        ]);
        c.arg("-o").arg(format!("ControlPath={}", self.control_path().display()));
        if let Some(f) = &self.opts.config {
            c.arg("-F").arg(f);
        }
        if let Some(i) = &self.opts.identity {
            c.arg("-i").arg(i);
        }
        for o in &self.opts.options {
            c.arg("-o").arg(o);
        }
        if let Some(p) = self.target.port {
            c.arg("-p").arg(p.to_string());
        }
        if let Some(u) = &self.target.user {
            c.arg("-l").arg(u);
        }
        c.arg("--").arg(&self.target.host);
        c.arg(remote.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" "));
        c.stdin(Stdio::null());
        c
    }

    /// Runs one remote command to completion, or stops ssh after the tool timeout (a stalled
    /// connection, a remote command that never returns): then a `TimedOut` error naming it.
    pub fn run(&self, remote: &[&str]) -> std::io::Result<Output> {
        self.run_within(remote, crate::child::tool_timeout())
    }

    pub fn run_within(&self, remote: &[&str], timeout: std::time::Duration) -> std::io::Result<Output> {
        crate::child::output(&mut self.command(remote), timeout)
            .map_err(|e| e.into_io(&format!("ssh {} {}", self.target.display(), remote.join(" "))))
    }

    pub fn spawn(&self, remote: &[&str]) -> std::io::Result<Child> {
        self.command(remote).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        let mut exit = Command::new("ssh");
        exit.arg("-o").arg(format!("ControlPath={}", self.control_path().display())).args([
            "-O",
            "exit",
            "--",
            &self.target.host,
        ]);
        let _ = crate::child::output(&mut exit, std::time::Duration::from_secs(5));
        // Only ever the folder `private_dir` made: a stray value here (a test once gave the temp
        // dir itself) must never become `rm -rf /tmp` as root.
        if self.dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(CONTROL_DIR_PREFIX)) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The name of every control-socket folder begins so (and `Drop` removes nothing else).
const CONTROL_DIR_PREFIX: &str = "portdoctor-ssh-";

/// A fresh folder for the control socket that no one else can have planted or can enter: in
/// `$XDG_RUNTIME_DIR` when it is ours and private (the XDG spec promises 0700), else in the temp
/// dir; a random name made with mkdir (which fails on an existing name, so a folder or link
/// planted in advance is never adopted), mode 0700, checked again after creation.
fn private_dir(runtime_dir: Option<std::ffi::OsString>) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = runtime_dir
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && check_private(d).is_ok())
        .unwrap_or_else(std::env::temp_dir);
    for _ in 0..16 {
        let dir = base.join(format!("{CONTROL_DIR_PREFIX}{:016x}", random_u64()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                check_private(&dir)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", base.display()))),
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{}: no free name", base.display())))
}

/// A folder (not a link to one), owned by this user, that no one else may enter or write.
fn check_private(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(dir)?;
    let me = nix::unistd::geteuid().as_raw();
    let why = if !m.file_type().is_dir() {
        "is not a folder".to_string()
    } else if m.uid() != me {
        format!("is owned by uid {}, not by this user ({me})", m.uid())
    } else if m.mode() & 0o077 != 0 {
        format!("is open to others (mode {:o})", m.mode() & 0o7777)
    } else {
        return Ok(());
    };
    Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{} {why}", dir.display())))
}

/// 64 bits from the kernel's random source, for a name no one can guess in advance.
fn random_u64() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_ne_bytes(b),
        // No /dev/urandom: still unique per run, and mkdir still refuses a planted name.
        Err(_) => {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
        }
    }
}

/// Single-quotes a word for the remote shell.
pub fn shell_quote(w: &str) -> String {
    if !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// Whether `sudo -n` refused (a password or a tty required) or is not there at all.
pub fn sudo_refused(stderr: &str) -> bool {
    stderr.contains("a password is required") || stderr.contains("a terminal is required") || stderr.contains("sudo: ")
}

/// `words`, under `sudo -n` unless the login user is already root.
pub fn privileged<'a>(ssh: &Ssh, words: &[&'a str]) -> Vec<&'a str> {
    let root = *ssh.root.get_or_init(|| {
        ssh.run(&["id", "-u"]).map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
    });
    let mut out = if root { vec![] } else { vec!["sudo", "-n"] };
    out.extend_from_slice(words);
    out
}

/// What `Ssh::connect` asks in its one round trip: the login user's uid, then where portdoctor
/// is installed (nothing when it is not).
const LOGIN_FACTS: &str = "id -u; command -v portdoctor; true";

/// A path `command -v portdoctor` printed that can be run as one word.
fn installed_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains(char::is_whitespace)
}

/// Where portdoctor lives on the remote host, if it is installed.
pub fn remote_portdoctor(ssh: &Ssh) -> Option<String> {
    ssh.portdoctor
        .get_or_init(|| {
            let out = ssh.run(&["sh", "-c", "command -v portdoctor"]).ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && installed_path(&path)).then_some(path)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(SshTarget::parse("ec2-user@203.0.113.10").unwrap().user.as_deref(), Some("ec2-user"));
        let t = SshTarget::parse("ssh://root@[2001:db8::1]:2222").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", Some(2222)));
        assert_eq!(SshTarget::parse("web-1.example.com").unwrap().host, "web-1.example.com");
        for hostile in [
            "-oProxyCommand=touch /tmp/pwned",
            "host;touch /tmp/pwned",
            "$(touch /tmp/pwned)",
            "`touch /tmp/pwned`",
            "a b",
            "user;x@host",
            "-l@host",
            "host\n",
            "",
            "ssh://host:99999",
        ] {
            assert!(SshTarget::parse(hostile).is_err(), "{hostile:?} accepted");
        }
    }

    /// Dropping a connection removes its own control folder and nothing else, whatever `dir`
    /// holds (a test once gave it the temp dir itself: `rm -rf /tmp` as root).
    #[test]
    fn dropping_a_connection_removes_only_its_own_control_folder() {
        let ssh = |dir: PathBuf| Ssh {
            target: SshTarget::parse("203.0.113.10").unwrap(),
            opts: SshOptions::default(),
            dir,
            root: Default::default(),
            portdoctor: Default::default(),
        };
        let foreign = std::env::temp_dir().join(format!("not-a-control-folder-{}", std::process::id()));
        std::fs::create_dir_all(&foreign).unwrap();
        drop(ssh(foreign.clone()));
        assert!(foreign.exists(), "a folder portdoctor did not make was removed");
        std::fs::remove_dir(&foreign).unwrap();
        let own = private_dir(None).unwrap();
        drop(ssh(own.clone()));
        assert!(!own.exists(), "{own:?} left behind");
    }

    /// The facts the connecting round trip prints are kept; anything else is asked again later.
    #[test]
    fn login_facts_are_kept_only_when_they_read_as_such() {
        let fresh = || Ssh {
            target: SshTarget::parse("203.0.113.10").unwrap(),
            opts: SshOptions::default(),
            // Its own folder: dropping an Ssh removes its control folder.
            dir: private_dir(None).unwrap(),
            root: Default::default(),
            portdoctor: Default::default(),
        };
        let out = std::process::Command::new("sh").args(["-c", LOGIN_FACTS]).output().unwrap();
        assert!(out.status.success());
        let ssh = fresh();
        ssh.learn(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(ssh.root.get(), Some(&nix::unistd::geteuid().is_root()));
        assert!(ssh.portdoctor.get().is_some(), "answered, installed or not");
        let ssh = fresh();
        ssh.learn("1000\n/usr/local/bin/portdoctor\n");
        assert_eq!(
            (ssh.root.get(), ssh.portdoctor.get()),
            (Some(&false), Some(&Some("/usr/local/bin/portdoctor".into())))
        );
        let ssh = fresh();
        ssh.learn("0\n");
        assert_eq!((ssh.root.get(), ssh.portdoctor.get()), (Some(&true), Some(&None)));
        for odd in ["Welcome!\n0\n", "0\nportdoctor: aliased\n", "0\n/a b\n", "0\n/x\n/y\n", ""] {
            let ssh = fresh();
            ssh.learn(odd);
            assert_eq!((ssh.root.get(), ssh.portdoctor.get()), (None, None), "{odd:?}");
        }
    }

    /// A control-socket folder is never one someone else planted: a world-writable or foreign
    /// runtime dir is not used, and what is made is ours, 0700, and new.
    #[test]
    fn control_folder_is_private_and_never_planted() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let root = std::env::temp_dir().join(format!("pd-ssh-test-{:x}", random_u64()));
        std::fs::create_dir(&root).unwrap();
        let planted = root.join("runtime");
        std::fs::create_dir(&planted).unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_private(&planted).unwrap_err().to_string().contains("open to others"));
        let dir = private_dir(Some(planted.clone().into_os_string())).unwrap();
        assert!(!dir.starts_with(&planted), "{dir:?} is in the planted folder");
        let m = std::fs::symlink_metadata(&dir).unwrap();
        assert_eq!((m.mode() & 0o777, m.uid()), (0o700, nix::unistd::geteuid().as_raw()));
        std::fs::remove_dir(&dir).unwrap();
        // A private runtime dir of ours is used.
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o700)).unwrap();
        let dir = private_dir(Some(planted.clone().into_os_string())).unwrap();
        assert!(dir.starts_with(&planted), "{dir:?}");
        // A link is not a folder, and another user's folder is not ours.
        let link = root.join("link");
        std::os::unix::fs::symlink(&planted, &link).unwrap();
        assert!(check_private(&link).unwrap_err().to_string().contains("not a folder"));
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&planted, Some(65534), None).unwrap();
            assert!(check_private(&planted).unwrap_err().to_string().contains("owned by uid 65534"));
            let dir = private_dir(Some(planted.clone().into_os_string())).unwrap();
            assert!(!dir.starts_with(&planted), "{dir:?}");
            std::fs::remove_dir(&dir).unwrap();
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("portdoctor"), "portdoctor");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote(""), "''");
    }
}
