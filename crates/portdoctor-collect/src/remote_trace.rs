//! `diagnose --trace`: the kernel witness (`portdoctor trace … --json`) on the host over the SSH
//! connection while the probes run. The remote command is exactly that trace, under `sudo -n`
//! when the login user is not root (as the host's evidence is read); every word is quoted by
//! `Ssh::command`. The trace ends by itself after `--duration`; the ssh child here is waited for
//! with a deadline and killed past it (or on any early return), so neither outlives the run.

use crate::ssh::{Ssh, privileged, remote_portdoctor, sudo_refused};
use portdoctor_model::trace::TraceReport;
use portdoctor_model::{Missing, Proto, Source};
use std::io::{BufRead, Read};
use std::process::Child;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the witness watches, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct WitnessPlan {
    pub port: u16,
    pub proto: Proto,
    /// The client the question is about (`--from`; `internet` by default).
    pub from: Source,
    pub seconds: u32,
    /// Also name the dropping nftables rule (`trace --nftrace`: a temporary table on the host,
    /// removed when the trace ends).
    pub nftrace: bool,
}

/// What the check names when the witness is missing.
const WHAT: &str = "the kernel witness on the host";
/// The remedy when portdoctor is not on the host (README: Install).
pub const INSTALL_REMEDY: &str = "install portdoctor on the host: cargo install --path crates/portdoctor --locked (or copy the portdoctor binary into its PATH), then run diagnose --trace again";
/// How long the remote trace may take to load its program and say it watches.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// Beyond its duration: room for the remote trace to start, drain and print its report.
const FINISH_GRACE: Duration = Duration::from_secs(15);

/// The trace running on the host; killed (with its ssh) when dropped before `finish`.
pub struct RemoteTrace {
    child: Child,
    deadline: Instant,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Arc<Mutex<String>>,
    sudo: bool,
    host: String,
}

/// The remote command's words (before `sudo -n`): the trace and nothing else.
fn trace_words(pd: &str, plan: &WitnessPlan) -> Vec<String> {
    let (port, from, secs) = (plan.port.to_string(), plan.from.to_string(), plan.seconds.to_string());
    let mut words =
        [pd, "trace", "--port", &port, "--proto", plan.proto.as_str(), "--from", &from, "--duration", &secs, "--json"]
            .map(str::to_string)
            .to_vec();
    if plan.nftrace {
        words.push("--nftrace".into());
    }
    words
}

/// Starts the trace and returns once the kernel program is attached (the probes may start), or
/// says what is missing: portdoctor on the host, sudo, or the trace's own reason and remedy.
pub fn start_trace(ssh: &Ssh, plan: &WitnessPlan) -> Result<RemoteTrace, Missing> {
    let host = ssh.target().display();
    let Some(pd) = remote_portdoctor(ssh) else {
        return Err(Missing::new(
            WHAT,
            format!("portdoctor is not installed on {host} (command -v portdoctor found none)"),
            INSTALL_REMEDY,
        ));
    };
    let words = trace_words(&pd, plan);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let words = privileged(ssh, &words);
    let sudo = words.first() == Some(&"sudo");
    let mut child = ssh
        .spawn(&words)
        .map_err(|e| Missing::new(WHAT, format!("cannot run ssh: {e}"), "install the OpenSSH client (ssh)"))?;
    let started = Instant::now();
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, ready) = mpsc::channel();
    if let Some(err) = child.stderr.take() {
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                // `trace` says so on stderr once its program is attached.
                if line.starts_with("portdoctor: tracing") {
                    let _ = tx.send(());
                }
                if let Ok(mut l) = log.lock()
                    && l.len() < 64 * 1024
                {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
    }
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            // Bounded like any evidence; a report past the bound fails to parse, named.
            let mut buf = Vec::new();
            let _ = out.take(crate::safe_fs::MAX_FILE_BYTES).read_to_end(&mut buf);
            buf
        })
    });
    let deadline = started + Duration::from_secs(u64::from(plan.seconds)) + FINISH_GRACE;
    let mut t = RemoteTrace { child, deadline, stdout, stderr, sudo, host };
    match ready.recv_timeout(READY_WITHIN) {
        Ok(()) => Ok(t),
        // The stderr reader ended (the trace exited) or it never said it watches.
        Err(e) => {
            let status = if e == mpsc::RecvTimeoutError::Disconnected { t.wait() } else { None };
            let _ = t.child.kill();
            let _ = t.child.wait();
            Err(t.failure(status.and_then(|s| s.code()), "it did not start within 20 s"))
        }
    }
}

impl RemoteTrace {
    /// Waits for the ssh child until the deadline; `None` when it had to be killed.
    fn wait(&mut self) -> Option<std::process::ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < self.deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
    }

    /// Waits for the trace to end (its duration, bounded) and reads its report.
    pub fn finish(mut self) -> Result<TraceReport, Missing> {
        let status = self.wait();
        let out = self.stdout.take().and_then(|h| h.join().ok()).unwrap_or_default();
        match status.and_then(|s| s.code()) {
            // 0: no drop, 1: drops (CONTRACT.md §2); either way the report is on stdout.
            Some(0 | 1) => serde_json::from_slice::<TraceReport>(&out).map_err(|e| {
                Missing::new(
                    WHAT,
                    format!("its report does not read: {e}"),
                    "update portdoctor on the host to this version",
                )
            }),
            None => Err(Missing::new(
                WHAT,
                format!(
                    "the trace on {} did not end within its duration and {} s (stopped)",
                    self.host,
                    FINISH_GRACE.as_secs()
                ),
                "check the SSH connection, or run `sudo portdoctor trace --port P` on the host while you probe",
            )),
            code => Err(self.failure(code, "it ended without a report")),
        }
    }

    /// Why the remote trace gave no report, from its exit and stderr.
    fn failure(&self, code: Option<i32>, otherwise: &str) -> Missing {
        // The stderr reader may still be taking the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let err = self.stderr.lock().map(|s| s.trim().to_string()).unwrap_or_default();
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        if self.sudo && sudo_refused(&err) && !last.starts_with("portdoctor: ") {
            return Missing::new(
                WHAT,
                format!("sudo -n was refused on {} ({last})", self.host),
                "allow passwordless sudo for `portdoctor trace` for this user, or log in as root",
            );
        }
        if err.contains("unrecognized subcommand") {
            return Missing::new(
                WHAT,
                format!("the portdoctor on {} has no `trace` ({last})", self.host),
                "update portdoctor on the host to this version",
            );
        }
        match last.strip_prefix("portdoctor: ") {
            Some(line) => {
                let (problem, remedy) = split_remedy(line);
                Missing::new(
                    WHAT,
                    problem,
                    remedy.unwrap_or("run `sudo portdoctor trace --port P` on the host to see why"),
                )
            }
            None => {
                let why = match (last, code) {
                    ("", Some(c)) => format!("{otherwise} (exit {c})"),
                    ("", None) => otherwise.to_string(),
                    (l, _) => l.to_string(),
                };
                Missing::new(WHAT, why, "run `sudo portdoctor trace --port P` on the host to see why")
            }
        }
    }
}

impl Drop for RemoteTrace {
    fn drop(&mut self) {
        // A run that ended early (an error, a panic) still ends its ssh; the remote trace ends
        // by itself after its duration.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `trace`'s one-line error is "PROBLEM; REMEDY" (`TraceError`'s Display): split at the first
/// "; " outside parentheses (a problem quotes the kernel's error in parentheses; a remedy may
/// hold "; " of its own).
fn split_remedy(line: &str) -> (&str, Option<&str>) {
    let mut depth = 0i32;
    for (i, c) in line.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth <= 0 && line[i + 1..].starts_with(' ') => return (&line[..i], Some(&line[i + 2..])),
            _ => {}
        }
    }
    (line, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_command_is_the_trace_alone() {
        let mut plan =
            WitnessPlan { port: 8080, proto: Proto::Tcp, from: Source::Internet, seconds: 3, nftrace: false };
        assert_eq!(
            trace_words("/usr/local/bin/portdoctor", &plan).join(" "),
            "/usr/local/bin/portdoctor trace --port 8080 --proto tcp --from internet --duration 3 --json"
        );
        plan.nftrace = true;
        assert_eq!(
            trace_words("portdoctor", &plan).join(" "),
            "portdoctor trace --port 8080 --proto tcp --from internet --duration 3 --json --nftrace"
        );
    }

    #[test]
    fn a_trace_error_splits_into_problem_and_remedy() {
        assert_eq!(
            split_remedy("the kernel refused the witness (load: a; b); run as root"),
            ("the kernel refused the witness (load: a; b)", Some("run as root"))
        );
        assert_eq!(
            split_remedy("nft failed; --nftrace needs root (Debian: apt-get install nftables); trace works without it"),
            ("nft failed", Some("--nftrace needs root (Debian: apt-get install nftables); trace works without it"))
        );
        assert_eq!(split_remedy("no remedy here"), ("no remedy here", None));
    }
}
