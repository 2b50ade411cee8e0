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
    /// Opens the connection (one round trip) or says why it cannot.
    pub fn connect(target: SshTarget, opts: SshOptions) -> Result<Ssh, Missing> {
        let dir = std::env::temp_dir().join(format!("portdoctor-ssh-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).map_err(|e| Missing::new("ssh control socket", e.to_string(), "check TMPDIR"))?;
        let ssh = Ssh { target, opts, dir, root: Default::default(), portdoctor: Default::default() };
        let out = ssh.command(&["true"]).output().map_err(|e| {
            Missing::new("the host over SSH", format!("cannot run ssh: {e}"), "install the OpenSSH client (ssh)")
        })?;
        if !out.status.success() {
            return Err(ssh_missing(&ssh.target, &String::from_utf8_lossy(&out.stderr)));
        }
        Ok(ssh)
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

    pub fn run(&self, remote: &[&str]) -> std::io::Result<Output> {
        self.command(remote).output()
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
        let _ = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", self.control_path().display()))
            .args(["-O", "exit", "--", &self.target.host])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() as u64).unwrap_or(0)
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

/// Where portdoctor lives on the remote host, if it is installed.
pub fn remote_portdoctor(ssh: &Ssh) -> Option<String> {
    ssh.portdoctor
        .get_or_init(|| {
            let out = ssh.run(&["sh", "-c", "command -v portdoctor"]).ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && path.starts_with('/') && !path.contains(char::is_whitespace)).then_some(path)
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

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("portdoctor"), "portdoctor");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote(""), "''");
    }
}
