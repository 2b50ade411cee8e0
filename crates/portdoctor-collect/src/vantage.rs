//! A probe from a second vantage point: the SSH host (`diagnose --vantage ssh-host`).

use crate::ssh::{Ssh, remote_portdoctor};
use portdoctor_model::probe::{ProbeAttempt, ProbeOutcome, ProbeReport};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A probe from the SSH host: its portdoctor if installed, else bash's /dev/tcp (open, refused
/// or silent; no ICMP kinds). Only an address and numbers are sent.
pub fn probe_from_ssh_host(ssh: &Ssh, target: IpAddr, port: u16, timeout: Duration) -> ProbeReport {
    // Room for the remote shell to start under load, on top of the probe timeout.
    let secs = (timeout.as_secs_f64().ceil() as u64 + 1).to_string();
    let hostport = match target {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    let start = Instant::now();
    let outcome = if let Some(pd) = remote_portdoctor(ssh)
        && let Ok(out) = ssh.run(&[&pd, "probe", &hostport, "--attempts", "2", "--json"])
        && let Ok(mut r) = serde_json::from_slice::<ProbeReport>(&out.stdout)
    {
        r.vantage = "ssh-host".into();
        return r;
    } else {
        let script = format!("exec 3<>/dev/tcp/{target}/{port}");
        match ssh.run(&["timeout", &secs, "bash", "-c", &script]) {
            Ok(o) if o.status.success() => ProbeOutcome::Open,
            // timeout(1) exits 124 when the command ran out of time: nothing answered.
            Ok(o) if o.status.code() == Some(124) => ProbeOutcome::Filtered,
            // bash prints strerror(ECONNREFUSED): "Connection refused".
            Ok(o) if String::from_utf8_lossy(&o.stderr).contains("refused") => ProbeOutcome::Refused,
            Ok(o) => ProbeOutcome::Error { message: String::from_utf8_lossy(&o.stderr).trim().to_string() },
            Err(e) => ProbeOutcome::Error { message: e.to_string() },
        }
    };
    ProbeReport {
        vantage: "ssh-host".into(),
        target,
        proto: portdoctor_model::Proto::Tcp,
        attempts: vec![ProbeAttempt { port, source_port: None, outcome, millis: start.elapsed().as_millis() as u64 }],
    }
}
