//! A case: what is known about each layer of one question — the cloud, the host, the probes
//! and a capture at the host's NIC — from one of its sources: a saved case folder
//! ([`from_folder`], docs/diagnose.md) or the live run ([`gather`]: probes from here, the cloud
//! API, the host and a capture over SSH, in parallel). Nothing here judges: the engine does, on
//! the case (the host layer after the cloud layer, which knows where the flow arrives).

use crate::SourceError;
use crate::cloud::{CloudApi, CloudLayer};
use crate::probe::{ProbePlan, probe};
use crate::ssh::{Ssh, SshOptions, SshTarget};
use portdoctor_engine::cloud::CloudQuery;
use portdoctor_model::host::HostEvidence;
use portdoctor_model::probe::{CaptureReport, ProbeReport};
use portdoctor_model::time::Timestamp;
use portdoctor_model::trace::TraceReport;
use portdoctor_model::{Check, CheckKind, CheckStatus, Knowledge, Layer, Missing, Proto};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// A case folder's layout: an AWS snapshot, a host snapshot, and the wire's evidence.
pub const AWS_DIR: &str = "aws";
pub const HOST_DIR: &str = "host";
/// Behind a load balancer: one host snapshot per target, `hosts/TARGET/` (`host/` stays the
/// first target's).
pub const HOSTS_DIR: &str = "hosts";
pub const PROBES_FILE: &str = "probes.json";
pub const CAPTURE_FILE: &str = "capture.json";
/// What the name the user typed resolved to when the case was taken: `{"name": "…",
/// "addresses": ["…"]}`, so an offline run compares the same answer (never resolved live).
pub const DNS_FILE: &str = "dns.json";

/// A name and the addresses it resolved to (the case folder's `dns.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsRecord {
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

/// A layer that could not be reached: the check it becomes, and what is missing.
#[derive(Debug, Clone)]
pub struct Unreached {
    pub check: &'static str,
    pub layer: Layer,
    pub missing: Missing,
}

impl Unreached {
    /// The `unknown` check the report shows for it.
    pub fn unknown(self) -> Check {
        Check::new(
            self.check,
            self.layer,
            CheckKind::Path,
            CheckStatus::Unknown,
            format!("Could not get {}", self.missing.what),
        )
        .with_evidence([self.missing.describe()])
    }
}

/// Behind a load balancer: each target's host by target id, or why it could not be read (the
/// engine judges them as they are).
pub use portdoctor_engine::diagnose::TargetHosts;

/// Everything one question's sources gave.
#[derive(Debug, Default)]
pub struct Case {
    pub cloud: Option<CloudLayer>,
    pub host: Option<HostEvidence>,
    /// Behind a load balancer: the targets' hosts by target id (`hosts/TARGET/`, or read over
    /// `--target-ssh`), or why one could not be read.
    pub target_hosts: TargetHosts,
    pub probes: Vec<ProbeReport>,
    pub capture: Option<Knowledge<CaptureReport>>,
    /// The kernel witness on the host while the probes ran (`--trace`), or why it could not run.
    pub witness: Option<Knowledge<TraceReport>>,
    pub unreached: Vec<Unreached>,
    pub notes: Vec<String>,
}

/// A host snapshot folder, parsed; a file that does not parse is an input error naming it.
pub fn host_from_folder(dir: &Path) -> Result<(HostEvidence, Vec<String>), SourceError> {
    let (raw, notes) = crate::snapshot::read_host(dir)?;
    let ev =
        portdoctor_parse::host::parse_host(&raw).map_err(|e| SourceError::Input(format!("{}/{e}", dir.display())))?;
    Ok((ev, notes))
}

/// A saved case. The cloud layer is read when there is a question for it (`cloud`: a target
/// address or an instance) and the folder holds `aws/`.
pub fn from_folder(case: &Path, cloud: Option<&CloudQuery>) -> Result<Case, SourceError> {
    let mut c = Case::default();
    // Checked even without a cloud question: a file where aws/ belongs is always an input error.
    let has_aws = has_folder(case, AWS_DIR)?;
    if let Some(q) = cloud
        && has_aws
    {
        c.cloud = Some(crate::cloud::from_snapshot(&case.join(AWS_DIR), q)?);
    }
    if has_folder(case, HOST_DIR)? {
        let (ev, mut notes) = host_from_folder(&case.join(HOST_DIR))?;
        c.notes.append(&mut notes);
        c.host = Some(ev);
    }
    if has_folder(case, HOSTS_DIR)? {
        c.target_hosts = target_hosts_from_folder(&case.join(HOSTS_DIR), &mut c.notes)?;
    }
    c.probes = read_json(case, PROBES_FILE)?.unwrap_or_default();
    c.capture = read_json(case, CAPTURE_FILE)?.map(Knowledge::Known);
    if c.cloud.is_none() && c.host.is_none() && c.target_hosts.is_empty() && c.probes.is_empty() {
        return Err(SourceError::Input(format!(
            "{}: a case folder holds {AWS_DIR}/ and/or {HOST_DIR}/ (and optionally {PROBES_FILE}, {CAPTURE_FILE})",
            case.display()
        )));
    }
    Ok(c)
}

/// `hosts/`: a host snapshot folder per target, named by the target's id, in name order.
fn target_hosts_from_folder(dir: &Path, notes: &mut Vec<String>) -> Result<TargetHosts, SourceError> {
    let listed = std::fs::read_dir(dir).map_err(|e| SourceError::Input(format!("{}: {e}", dir.display())))?;
    let mut names: Vec<String> = listed.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        // Only folders: a stray file (a README) is not a target.
        if !has_folder(dir, &name)? {
            continue;
        }
        let (ev, mut more) = host_from_folder(&dir.join(&name))?;
        notes.append(&mut more);
        out.push((name, Ok(ev)));
    }
    Ok(out)
}

/// Behind a load balancer, each target's host over SSH (`--target-ssh`), all at once: by target
/// id, its evidence or why it could not be read (the others go on).
pub fn target_hosts_over_ssh(
    targets: Vec<(String, SshTarget)>,
    opts: &SshOptions,
    say: &(dyn Fn(&str) + Sync),
) -> (TargetHosts, Vec<String>) {
    let read = |(id, t): (String, SshTarget)| {
        say(&format!("reading target {id}'s host over ssh ({})", t.display()));
        let got =
            Ssh::connect(t, opts.clone()).and_then(|s| crate::remote::host_over_ssh(&s)).and_then(|(raw, notes)| {
                let ev = portdoctor_parse::host::parse_host(&raw).map_err(|e| {
                    Missing::new("the host's evidence", e.to_string(), "report this as a bug with the host's output")
                })?;
                Ok((ev, notes))
            });
        (id, got)
    };
    let read = &read;
    let done: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = targets.into_iter().map(|t| (t.0.clone(), scope.spawn(move || read(t)))).collect();
        // A reader that panicked leaves its target `unknown`, never silently out of the report.
        jobs.into_iter()
            .map(|(id, j)| j.join().unwrap_or_else(|_| (id.clone(), Err(target_read_crashed(&id)))))
            .collect()
    });
    let mut notes = Vec::new();
    let hosts = done
        .into_iter()
        .map(|(id, r)| {
            let r = r.map(|(ev, mut n)| {
                notes.append(&mut n);
                ev
            });
            (id, r)
        })
        .collect();
    (hosts, notes)
}

/// Why a target's host is `unknown` when the code reading it panicked (a bug: the panic's
/// message is on stderr).
pub fn target_read_crashed(id: &str) -> Missing {
    Missing::new(
        format!("target {id}'s host over SSH"),
        "reading it stopped on an internal error in portdoctor (its message is on stderr)",
        "report it as a bug; meanwhile run `portdoctor host --port PORT` on the target itself",
    )
}

/// What the case folder recorded the name resolving to (`dns.json`), if it holds one. Read
/// before the case itself: the name says which target the cloud layer is asked about.
pub fn read_dns(case: &Path) -> Result<Option<DnsRecord>, SourceError> {
    read_json(case, DNS_FILE)
}

/// Records what a name resolved to in the case folder `case` (created if absent), so that
/// `diagnose NAME --snapshot CASE` replays the same resolution offline (and the same
/// `DNS_STALE` verdict). An existing `dns.json` that is not a plain file (a link out of the
/// folder) is refused, never followed.
pub fn write_dns(case: &Path, record: &DnsRecord) -> Result<(), SourceError> {
    let path = case.join(DNS_FILE);
    let fail = |what: &str, e: std::io::Error| SourceError::Input(format!("{}: {what}: {e}", path.display()));
    std::fs::create_dir_all(case).map_err(|e| fail("cannot create the case folder", e))?;
    if let Ok(meta) = std::fs::symlink_metadata(&path)
        && !meta.file_type().is_file()
    {
        return Err(SourceError::Input(format!("{}: exists and is not a plain file", path.display())));
    }
    let text = serde_json::to_string_pretty(record).map_err(|e| fail("cannot encode", std::io::Error::other(e)))?;
    std::fs::write(&path, format!("{text}\n")).map_err(|e| fail("cannot write", e))
}

/// A case folder's optional JSON file: absent is `None`; present but unreadable, not a file, a
/// link out of the folder or malformed is an input error naming it (never taken as absent).
fn read_json<T: serde::de::DeserializeOwned>(case: &Path, name: &str) -> Result<Option<T>, SourceError> {
    let Some(bytes) = crate::safe_fs::read_file(case, Path::new(name))? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        SourceError::Input(format!("{}: line {} column {}: {e}", case.join(name).display(), e.line(), e.column()))
    })
}

/// Whether the case folder holds the sub-folder `name`: absent is `false`; a file, or a link
/// out of the case folder, in its place is an input error.
fn has_folder(case: &Path, name: &str) -> Result<bool, SourceError> {
    use crate::safe_fs::{Kind, resolve};
    match resolve(case, Path::new(name))? {
        None => Ok(false),
        Some((_, Kind::Folder)) => Ok(true),
        Some((_, Kind::File)) => Err(SourceError::Input(format!(
            "{}: a file, where a case folder holds a folder ({name}/, see docs/diagnose.md)",
            case.join(name).display()
        ))),
    }
}

/// What a live run reaches for.
pub struct LivePlan<'a> {
    /// Where the probes go; `None` when the name did not resolve (nothing is probed).
    pub target: Option<IpAddr>,
    /// The name's other addresses: each is probed from here too, after `target`, so the
    /// verdict can say which of them fail.
    pub more_targets: Vec<IpAddr>,
    pub port: u16,
    pub proto: Proto,
    /// The port in question first, then the control ports.
    pub ports: Vec<u16>,
    pub timeout: Duration,
    /// The host over SSH (its evidence and a capture at its NIC), and whether it also probes.
    pub ssh: Option<(SshTarget, SshOptions)>,
    pub probe_from_ssh_host: bool,
    /// The kernel witness on the SSH host while the probes run (`--trace`).
    pub witness: Option<crate::remote_trace::WitnessPlan>,
    /// The cloud question and the provider's API; `None` when there is nothing to ask it, or
    /// when it was asked before the run (`cloud_read_apart`: [`read_cloud`], to know a load
    /// balancer's targets before reaching them).
    pub cloud: Option<(CloudQuery, &'a dyn CloudApi)>,
    pub cloud_read_apart: bool,
    pub now: Timestamp,
    /// Progress for a person at a terminal ("probing …").
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// The live case: the host's evidence and the cloud layer come in while the capture and the
/// probes run.
pub fn gather(plan: &LivePlan<'_>) -> Case {
    let mut c = Case::default();
    let say = plan.progress;
    let ssh_wanted = plan.ssh.is_some();
    let ssh = plan.ssh.clone().and_then(|(t, opts)| {
        say(&format!("connecting to {} over ssh", t.display()));
        Ssh::connect(t, opts)
            .map_err(|m| c.unreached.push(Unreached { check: "host.ssh", layer: Layer::Host, missing: m }))
            .ok()
    });
    let (port, timeout) = (plan.port, plan.timeout);
    std::thread::scope(|scope| {
        let host_job = ssh.as_ref().map(|s| scope.spawn(move || crate::remote::host_over_ssh(s)));
        let cloud_job = plan.cloud.as_ref().map(|(q, api)| {
            say("reading the cloud and platform layers");
            scope.spawn(move || crate::cloud::live(*api, q, plan.now))
        });
        // Asked for (--ssh) but the connection failed: the capture is unknown, not skipped.
        let no_ssh = |what: &str| Missing::new(what, "no SSH connection (see host.ssh)", "fix the SSH connection");
        c.capture = (ssh_wanted && ssh.is_none()).then(|| Knowledge::Unavailable(no_ssh("a capture on the host")));
        // The witness first: attached before the capture and the probes start, so it sees them.
        let witness = plan.witness.as_ref().map(|w| match &ssh {
            Some(s) => {
                say(&format!("starting the kernel witness on the host for {} s", w.seconds));
                crate::remote_trace::start_trace(s, w)
            }
            None => Err(no_ssh("the kernel witness on the host")),
        });
        if let Some(ip) = plan.target {
            let running = ssh.as_ref().map(|s| {
                say("starting a capture on the host");
                crate::remote::start_capture(s, port, (timeout.as_secs_f64() + 1.5).ceil() as u32)
            });
            // The second vantage probes at the same time as this one.
            let vantage = match &ssh {
                Some(s) if plan.probe_from_ssh_host => {
                    say("probing from the ssh host");
                    Some(scope.spawn(move || crate::vantage::probe_from_ssh_host(s, ip, port, timeout)))
                }
                _ => None,
            };
            say(&format!("probing {ip}:{port} from here"));
            let here = ProbePlan { target: ip, proto: plan.proto, ports: plan.ports.clone(), attempts: 3, timeout };
            c.probes.push(probe(&here, "here"));
            for ip in &plan.more_targets {
                say(&format!("probing {ip}:{port} from here"));
                c.probes.push(probe(&ProbePlan { target: *ip, ..here.clone() }, "here"));
            }
            c.probes.extend(vantage.and_then(|v| v.join().ok()));
            if let Some(r) = running {
                c.capture = Some(match r.and_then(|cap| cap.finish()) {
                    Ok(cap) => Knowledge::Known(cap),
                    Err(m) => Knowledge::Unavailable(m),
                });
            }
        }
        c.witness = witness.map(|w| {
            match w.and_then(|t| {
                say("waiting for the kernel witness to end");
                t.finish()
            }) {
                Ok(r) => Knowledge::Known(r),
                Err(m) => Knowledge::Unavailable(m),
            }
        });
        let host_raw = host_job.and_then(|j| match j.join() {
            Ok(Ok((raw, mut notes))) => {
                c.notes.append(&mut notes);
                Some(raw)
            }
            Ok(Err(m)) => {
                c.unreached.push(Unreached { check: "host.ssh", layer: Layer::Host, missing: m });
                None
            }
            Err(_) => None,
        });
        c.cloud = match cloud_job.map(|j| j.join()) {
            Some(Ok(read)) => cloud_or_unreached(read, &mut c.unreached),
            Some(Err(_)) => None,
            None if plan.cloud_read_apart => None,
            None => {
                c.notes.push("cloud layer skipped: give --instance i-… (and AWS credentials) to check it".into());
                None
            }
        };
        c.host = host_raw.and_then(|raw| match portdoctor_parse::host::parse_host(&raw) {
            Ok(ev) => Some(ev),
            Err(e) => {
                let missing =
                    Missing::new("the host's evidence", e.to_string(), "report this as a bug with the host's output");
                c.unreached.push(Unreached { check: "host.ssh", layer: Layer::Host, missing });
                None
            }
        });
    });
    c
}

/// The cloud layer read live, or the `unknown` `cloud.access` check saying why not.
fn cloud_or_unreached(read: Result<CloudLayer, SourceError>, unreached: &mut Vec<Unreached>) -> Option<CloudLayer> {
    read.map_err(|e| {
        let missing = Missing::new("the cloud layer", e.to_string(), "check AWS credentials and region");
        unreached.push(Unreached { check: "cloud.access", layer: Layer::Cloud, missing });
    })
    .ok()
}

/// The cloud layer read before the rest of a live run (a load balancer's targets must be known
/// before they are reached, and the witness on a target watches the target's port).
pub fn read_cloud(
    q: &CloudQuery,
    api: &dyn CloudApi,
    now: Timestamp,
    unreached: &mut Vec<Unreached>,
) -> Option<CloudLayer> {
    cloud_or_unreached(crate::cloud::live(api, q, now), unreached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pd-case-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn input_error(r: Result<Case, SourceError>) -> String {
        match r {
            Err(SourceError::Input(m)) => m,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn the_seed_incident_folder_holds_every_layer() {
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-incident");
        let c = from_folder(&seed, None).unwrap();
        assert!(c.cloud.is_none(), "no cloud question, no cloud layer");
        assert!(c.host.is_some());
        assert!(!c.probes.is_empty());
        assert!(matches!(c.capture, Some(Knowledge::Known(_))));
    }

    #[test]
    fn a_folder_with_nothing_or_a_file_for_a_folder_is_an_input_error() {
        let empty = scratch("empty");
        assert!(input_error(from_folder(&empty, None)).contains("a case folder holds aws/ and/or host/"));
        // A file where aws/ belongs, even when there is no cloud question to read it for.
        std::fs::write(empty.join(AWS_DIR), "x").unwrap();
        assert!(input_error(from_folder(&empty, None)).contains("a file, where a case folder holds a folder (aws/"));
        std::fs::remove_file(empty.join(AWS_DIR)).unwrap();
        std::fs::write(empty.join(PROBES_FILE), "[{").unwrap();
        assert!(input_error(from_folder(&empty, None)).contains("probes.json: line 1"));
        let _ = std::fs::remove_dir_all(&empty);
    }

    #[test]
    fn a_recorded_resolution_reads_back_as_written() {
        let case = std::env::temp_dir().join(format!("pd-dns-case-{}", std::process::id()));
        let record = DnsRecord {
            name: "shop.example.com".into(),
            addresses: vec!["203.0.113.50".parse().unwrap(), "2001:db8::50".parse().unwrap()],
        };
        write_dns(&case, &record).unwrap();
        assert_eq!(read_dns(&case).unwrap(), Some(record.clone()));
        // Written again over its own file: replaced.
        let again = DnsRecord { addresses: vec!["198.51.100.7".parse().unwrap()], ..record };
        write_dns(&case, &again).unwrap();
        assert_eq!(read_dns(&case).unwrap(), Some(again));
        let _ = std::fs::remove_dir_all(&case);
    }
}
