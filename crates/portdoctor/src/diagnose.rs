//! `portdoctor diagnose`: gathers every layer it can reach — probes from here, the cloud and
//! platform layers, the host over SSH, a capture at the host's NIC correlated with the probes —
//! and hands them to the engine's join (`portdoctor_engine::diagnose`), which owns the reasoning.
//! Nothing here judges; it only collects, in parallel where it can, and says what it could not.

use crate::cli::{DiagnoseArgs, WireArgs};
use crate::{Fail, cloud_layer, emit, report_format};
use portdoctor_collect::probe::{ProbePlan, probe};
use portdoctor_collect::ssh::{Ssh, SshOptions, SshTarget, remote_portdoctor};
use portdoctor_engine::cloud::CloudTarget;
use portdoctor_engine::diagnose::{Layers, join};
use portdoctor_engine::host::{HostQuery, diagnose_host};
use portdoctor_model::probe::{CaptureReport, ProbeAttempt, ProbeOutcome, ProbeReport};
use portdoctor_model::{Check, CheckKind, CheckStatus, Diagnosis, Knowledge, Layer, Missing, Query};
use portdoctor_render::Format;
use std::io::IsTerminal;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// `HOST:PORT`, `[V6]:PORT`, a bare v6 address, or `HOST`.
pub(crate) fn split_target(t: &str) -> (String, Option<u16>) {
    if let Some(rest) = t.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host.to_string(), after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h.to_string(), Some(port)),
            Err(_) => (t.to_string(), None),
        },
        _ => (t.to_string(), None),
    }
}

fn unknown(id: &str, layer: Layer, m: &Missing) -> Check {
    Check::new(id, layer, CheckKind::Path, CheckStatus::Unknown, format!("Could not get {}", m.what))
        .with_evidence([m.describe()])
}

/// Progress on stderr for a person at a terminal; silent in JSON mode and in pipes.
struct Progress(bool);

impl Progress {
    fn say(&self, what: &str) {
        if self.0 {
            crate::say!("portdoctor: {what}…");
        }
    }
}

/// A case folder's optional JSON file: absent is `None`; present but unreadable, not a file, a
/// link out of the folder or malformed is an input error naming it (never taken as absent).
fn read_json<T: serde::de::DeserializeOwned>(case: &Path, name: &str) -> Result<Option<T>, Fail> {
    let path = case.join(name);
    let Some(bytes) = portdoctor_collect::safe_fs::read_file(case, Path::new(name))? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Fail(format!("{}: line {} column {}: {e}", path.display(), e.line(), e.column())))
}

/// Whether the case folder holds the sub-folder `name` (`aws`, `host`): absent is `false`; a
/// file, or a link out of the case folder, in its place is an input error.
fn case_folder(case: &Path, name: &str) -> Result<bool, Fail> {
    use portdoctor_collect::safe_fs::{Kind, resolve};
    match resolve(case, Path::new(name))? {
        None => Ok(false),
        Some((_, Kind::Folder)) => Ok(true),
        Some((_, Kind::File)) => Err(Fail(format!(
            "{}: a file, where a case folder holds a folder ({name}/, see docs/diagnose.md)",
            case.join(name).display()
        ))),
    }
}

/// Whether AWS access looks configured, so a cloud lookup without --instance is worth trying.
fn aws_configured() -> bool {
    let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    env("AWS_ACCESS_KEY_ID")
        || env("AWS_PROFILE")
        || env("AWS_ENDPOINT_URL")
        || env("AWS_WEB_IDENTITY_TOKEN_FILE")
        || std::env::var_os("HOME").is_some_and(|h| {
            Path::new(&h).join(".aws/credentials").exists() || Path::new(&h).join(".aws/config").exists()
        })
}

/// A probe from the SSH host: its portdoctor if installed, else bash's /dev/tcp (open, refused
/// or silent; no ICMP kinds). Only an address and numbers are sent.
fn probe_from_ssh_host(ssh: &Ssh, target: IpAddr, port: u16, timeout: Duration) -> ProbeReport {
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
            Ok(o) if o.status.code() == Some(124) => ProbeOutcome::Filtered,
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

impl WireArgs {
    /// The host and the port (from TARGET or --port), or the usage error.
    pub(crate) fn host_port(&self) -> Result<(String, u16), Fail> {
        let (host, in_target) = split_target(&self.target);
        let port = self
            .port
            .or(in_target)
            .ok_or_else(|| Fail(format!("'{}' has no port: give HOST:PORT or --port", self.target.escape_debug())))?;
        if port == 0 {
            // Nothing listens on port 0; a probe would fail with a confusing error.
            return Err(Fail(format!("'{}': port 0 is not a port (1-65535)", self.target.escape_debug())));
        }
        Ok((host, port))
    }

    /// The port in question first, then the control ports.
    pub(crate) fn ports(&self, port: u16) -> Vec<u16> {
        let mut ports = vec![port];
        ports.extend(self.control_ports.iter().filter(|c| **c != port));
        ports
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// An address as given, or a name resolved here (never passed to a shell); `Ok(None)` when the
/// name resolves to no address.
pub(crate) fn resolve(host: &str, port: u16) -> std::io::Result<Option<IpAddr>> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Ok(Some(ip)),
        Err(_) => Ok((host, port).to_socket_addrs()?.next().map(|a| a.ip())),
    }
}

/// The host layer from a host's raw evidence. The arrival is where the cloud layer says the
/// flow arrives (the interface's private address), so the host layer does not guess it.
fn host_layer(
    raw: &portdoctor_parse::host::RawHost,
    port: u16,
    args: &DiagnoseArgs,
    cloud: Option<&Diagnosis>,
    notes: &mut Vec<String>,
) -> Result<Diagnosis, portdoctor_parse::ParseError> {
    let ev = portdoctor_parse::host::parse_host(raw)?;
    let to = cloud.and_then(|c| c.arrival);
    if let Some(a) = to {
        notes.push(format!(
            "the host layer judges the flow arriving at {a}, the private address the cloud layer resolved the target to"
        ));
    }
    Ok(diagnose_host(&ev, &HostQuery { port, proto: args.wire.proto, from: args.from, to }))
}

pub fn diagnose(args: DiagnoseArgs) -> Result<u8, Fail> {
    let format = report_format(&args.report)?;
    let (host, port) = args.wire.host_port()?;
    let ssh_target = args.ssh.as_deref().map(SshTarget::parse).transpose().map_err(Fail)?;
    if args.vantage.as_deref().is_some_and(|v| v != "ssh-host") {
        return Err(Fail("--vantage: only `ssh-host` (the --ssh host) is known".into()));
    }
    let progress = Progress(format != Format::Json && args.report.output.is_none() && std::io::stderr().is_terminal());
    let mut unreached: Vec<Check> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // Where the target is; a case folder is read offline, so a name is not resolved for it.
    let target_ip: Option<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if args.snapshot.is_some() => None,
        Err(_) => match resolve(&host, port) {
            Ok(ip) => ip,
            Err(e) => {
                unreached.push(unknown(
                    "path.resolve",
                    Layer::Path,
                    &Missing::new(
                        format!("the address of '{}'", host.escape_debug()),
                        e.to_string(),
                        "check the name, or give the address",
                    ),
                ));
                None
            }
        },
    };
    let cloud_target = match (&args.instance, target_ip) {
        (Some(i), _) => Some(CloudTarget::Instance(i.clone())),
        (None, Some(ip)) => Some(CloudTarget::PublicIp(ip)),
        (None, None) => None,
    };

    let (cloud, host_diag, probes, capture) = match &args.snapshot {
        Some(case) => {
            let aws = case.join("aws");
            let cloud = match (&cloud_target, case_folder(case, "aws")?) {
                (Some(t), true) => {
                    Some(cloud_layer(t.clone(), port, args.wire.proto, args.from, &args.aws, Some(&aws))?)
                }
                _ => None,
            };
            let host_dir = case.join("host");
            let host_diag = if case_folder(case, "host")? {
                let (raw, mut n) = portdoctor_collect::snapshot::read_host(&host_dir)?;
                notes.append(&mut n);
                Some(
                    host_layer(&raw, port, &args, cloud.as_ref(), &mut notes)
                        .map_err(|e| Fail(format!("{}/{e}", host_dir.display())))?,
                )
            } else {
                None
            };
            let probes: Vec<ProbeReport> = read_json(case, "probes.json")?.unwrap_or_default();
            let capture: Option<CaptureReport> = read_json(case, "capture.json")?;
            if cloud.is_none() && host_diag.is_none() && probes.is_empty() {
                return Err(Fail(format!(
                    "{}: a case folder holds aws/ and/or host/ (and optionally probes.json, capture.json)",
                    case.display()
                )));
            }
            (cloud, host_diag, probes, capture.map(Knowledge::Known))
        }
        None => {
            let timeout = args.wire.timeout();
            let ssh_wanted = ssh_target.is_some();
            let ssh = match ssh_target {
                Some(t) => {
                    progress.say(&format!("connecting to {} over ssh", t.display()));
                    let opts = SshOptions {
                        config: args.ssh_config.clone(),
                        options: args.ssh_option.clone(),
                        identity: args.ssh_identity.clone(),
                    };
                    match Ssh::connect(t, opts) {
                        Ok(s) => Some(s),
                        Err(m) => {
                            unreached.push(unknown("host.ssh", Layer::Host, &m));
                            None
                        }
                    }
                }
                None => None,
            };
            let ports = args.wire.ports(port);
            std::thread::scope(|scope| {
                // The host's evidence comes in while the capture and the probes run.
                let host_job = ssh.as_ref().map(|s| scope.spawn(move || portdoctor_collect::remote::host_over_ssh(s)));
                // So do the cloud and platform layers.
                let cloud_job = match &cloud_target {
                    Some(t) if args.instance.is_some() || aws_configured() => {
                        progress.say("reading the cloud and platform layers");
                        let (t, aws) = (t.clone(), &args.aws);
                        let (proto, from) = (args.wire.proto, args.from);
                        Some(scope.spawn(move || cloud_layer(t, port, proto, from, aws, None)))
                    }
                    _ => None,
                };
                // Asked for (--ssh) but the connection failed: the capture is unknown, not skipped.
                let mut capture = (ssh_wanted && ssh.is_none()).then(|| {
                    Knowledge::Unavailable(Missing::new(
                        "a capture on the host",
                        "no SSH connection (see host.ssh)",
                        "fix the SSH connection",
                    ))
                });
                let mut probes = Vec::new();
                if let Some(ip) = target_ip {
                    let running = ssh.as_ref().map(|s| {
                        progress.say("starting a capture on the host");
                        portdoctor_collect::remote::start_capture(s, port, (timeout.as_secs_f64() + 1.5).ceil() as u32)
                    });
                    // The second vantage probes at the same time as this one.
                    let vantage = match (&ssh, args.vantage.as_deref()) {
                        (Some(s), Some("ssh-host")) => {
                            progress.say("probing from the ssh host");
                            Some(scope.spawn(move || probe_from_ssh_host(s, ip, port, timeout)))
                        }
                        _ => None,
                    };
                    progress.say(&format!("probing {ip}:{port} from here"));
                    let plan =
                        ProbePlan { target: ip, proto: args.wire.proto, ports: ports.clone(), attempts: 3, timeout };
                    probes.push(probe(&plan, "here"));
                    probes.extend(vantage.and_then(|v| v.join().ok()));
                    if let Some(r) = running {
                        capture = Some(match r.and_then(|c| c.finish()) {
                            Ok(c) => Knowledge::Known(c),
                            Err(m) => Knowledge::Unavailable(m),
                        });
                    }
                }
                let host_raw = host_job.and_then(|j| match j.join() {
                    Ok(Ok((raw, mut n))) => {
                        notes.append(&mut n);
                        Some(raw)
                    }
                    Ok(Err(m)) => {
                        unreached.push(unknown("host.ssh", Layer::Host, &m));
                        None
                    }
                    Err(_) => None,
                });
                let cloud = match cloud_job.map(|j| j.join()) {
                    Some(Ok(Ok(d))) => Some(d),
                    Some(Ok(Err(Fail(e)))) => {
                        unreached.push(unknown(
                            "cloud.access",
                            Layer::Cloud,
                            &Missing::new("the cloud layer", e, "check AWS credentials and region"),
                        ));
                        None
                    }
                    Some(Err(_)) => None,
                    None => {
                        notes.push("cloud layer skipped: give --instance i-… (and AWS credentials) to check it".into());
                        None
                    }
                };
                // Judged after the cloud layer, which knows where the flow arrives.
                let host_diag =
                    host_raw.and_then(|raw| match host_layer(&raw, port, &args, cloud.as_ref(), &mut notes) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            unreached.push(unknown(
                                "host.ssh",
                                Layer::Host,
                                &Missing::new(
                                    "the host's evidence",
                                    e.to_string(),
                                    "report this as a bug with the host's output",
                                ),
                            ));
                            None
                        }
                    });
                (cloud, host_diag, probes, capture)
            })
        }
    };
    let instance = cloud.as_ref().and_then(|c: &Diagnosis| c.query.instance.clone()).or(args.instance.clone());
    let query = Query {
        command: "diagnose".into(),
        target: target_ip.map(|i| i.to_string()).or_else(|| cloud.as_ref().and_then(|c| c.query.target.clone())),
        port,
        protocol: args.wire.proto,
        from: args.from,
        instance,
    };
    let layers = Layers {
        query,
        control_ports: args.wire.control_ports.clone(),
        probes,
        capture,
        cloud,
        host: host_diag,
        unreached,
        notes,
    };
    let d = join(layers);
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn targets() {
        assert_eq!(split_target("203.0.113.10:8080"), ("203.0.113.10".into(), Some(8080)));
        assert_eq!(split_target("[2001:db8::1]:443"), ("2001:db8::1".into(), Some(443)));
        assert_eq!(split_target("2001:db8::1"), ("2001:db8::1".into(), None));
        assert_eq!(split_target("web.example.com"), ("web.example.com".into(), None));
        assert_eq!(split_target("$(touch x):80"), ("$(touch x)".into(), Some(80)));
    }
}
