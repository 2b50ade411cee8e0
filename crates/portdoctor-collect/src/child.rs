//! Every program portdoctor runs (iptables-save, nft, ipset, ss, nsenter, systemctl, journalctl,
//! semanage, ssh, …) runs through here, with a deadline: a tool that never returns (a stuck
//! `ipset`, an ssh that stalls) is killed with its whole process group and reported as timed
//! out, so one hung tool costs one timeout and an `unknown` check, never a hung portdoctor. Its
//! output is bounded like any evidence file (`safe_fs::MAX_FILE_BYTES`).

use crate::safe_fs::{MAX_FILE_BYTES, read_bounded};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long one tool may run: `PORTDOCTOR_TOOL_TIMEOUT` seconds, else 30 s (listing a 100k-rule
/// nftables ruleset takes ~12 s on a loaded machine).
pub fn tool_timeout() -> Duration {
    std::env::var("PORTDOCTOR_TOOL_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
        .unwrap_or(Duration::from_secs(30))
}

/// Why a run did not produce output.
#[derive(Debug)]
pub enum RunError {
    /// It could not be started (not installed, not executable).
    Spawn(io::Error),
    /// It ran past the deadline and was killed.
    TimedOut(Duration),
    /// It wrote more than the bound and was killed.
    TooLarge,
}

impl RunError {
    /// As an `io::Error`, for callers that speak io (`TimedOut` keeps its kind).
    pub fn into_io(self, command: &str) -> io::Error {
        match self {
            RunError::Spawn(e) => e,
            RunError::TimedOut(t) => io::Error::new(io::ErrorKind::TimedOut, timed_out(command, t)),
            RunError::TooLarge => io::Error::new(io::ErrorKind::InvalidData, too_large(command)),
        }
    }
}

/// "`ipset save` did not finish within 30 s (stopped)".
pub fn timed_out(command: &str, t: Duration) -> String {
    format!("`{command}` did not finish within {} s (stopped)", secs(t))
}

fn too_large(command: &str) -> String {
    format!("`{command}` wrote more than {} MB (stopped)", MAX_FILE_BYTES / (1024 * 1024))
}

/// Seconds as a person reads them: 30, 0.5.
pub fn secs(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s}") }
}

/// Runs `cmd` (stdin closed) to completion or to `timeout`, in its own process group so that
/// everything it started dies with it.
pub fn output(cmd: &mut Command, timeout: Duration) -> Result<Output, RunError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let kill = move || {
        let _ = killpg(group, Signal::SIGKILL);
    };
    // Both pipes are drained at once (a tool blocked writing stderr never finishes), each by its
    // own thread; a pipe past the bound kills the tool.
    let reader = |pipe: Option<Box<dyn io::Read + Send>>, limit: u64| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = match pipe {
                Some(p) => read_bounded(p, limit).map_err(|_| ()),
                None => Ok(Vec::new()),
            };
            if r.is_err() {
                kill();
            }
            let _ = tx.send(r);
        });
        rx
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn io::Read + Send>), MAX_FILE_BYTES);
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn io::Read + Send>), 1024 * 1024);
    let (tx, waited) = mpsc::channel::<io::Result<ExitStatus>>();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match waited.recv_timeout(timeout) {
        Ok(s) => s.map_err(RunError::Spawn)?,
        Err(_) => {
            kill();
            // Reaped by the waiter thread; the pipes close with the group.
            return Err(RunError::TimedOut(timeout));
        }
    };
    // A descendant that left the group could hold the pipes open: give it a moment, no more.
    let grace = Duration::from_secs(2);
    let stdout = match out.recv_timeout(grace) {
        Ok(Ok(b)) => b,
        Ok(Err(())) => return Err(RunError::TooLarge),
        Err(_) => return Err(RunError::TimedOut(timeout)),
    };
    let stderr = err.recv_timeout(grace).ok().and_then(Result::ok).unwrap_or_default();
    Ok(Output { status, stdout, stderr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_tool_that_never_returns_is_stopped_with_its_children() {
        let start = Instant::now();
        // The shell's child (sleep) holds the pipes too: the whole group must go.
        let r = output(Command::new("sh").args(["-c", "sleep 30 & sleep 30"]), Duration::from_millis(300));
        assert!(matches!(r, Err(RunError::TimedOut(_))), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    }

    #[test]
    fn output_and_status_come_back() {
        let o =
            output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]), Duration::from_secs(10)).unwrap();
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr, b"err\n");
        assert_eq!(o.status.code(), Some(3));
        assert!(matches!(
            output(&mut Command::new("/nonexistent/tool"), Duration::from_secs(1)),
            Err(RunError::Spawn(_))
        ));
    }
}
