//! `portdoctor diagnose`: the plan from the command line, the case from its sources (a case
//! folder, or live: probes from here, the cloud and platform layers, the host over SSH with a
//! capture at its NIC — portdoctor_collect::case), then the engine: each layer judged, and the
//! join (`portdoctor_engine::diagnose`), which owns the reasoning across them.

use crate::cli::{DiagnoseArgs, FlowArgs, WireArgs};
use crate::error::Error;
use crate::{aws_api, cloud_query, emit, report_format};
use portdoctor_collect::case::{Case, DNS_FILE, DnsRecord, LivePlan, Unreached, from_folder, gather, read_dns};
use portdoctor_collect::cloud::{CloudApi, CloudLayer};
use portdoctor_collect::remote_trace::WitnessPlan;
use portdoctor_collect::ssh::{SshOptions, SshTarget};
use portdoctor_engine::cloud::{CloudQuery, CloudTarget, ResolvedName};
use portdoctor_engine::diagnose::{Layers, join};
use portdoctor_engine::family;
use portdoctor_engine::host::{HostQuery, diagnose_host};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::trace::TraceReport;
use portdoctor_model::{Check, CheckKind, CheckStatus, Diagnosis, Knowledge, Layer, Missing, Query};
use portdoctor_render::Format;
use std::io::IsTerminal;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

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

/// A layer that could not be reached, as the `unknown` check the report shows.
fn unknown(u: Unreached) -> Check {
    Check::new(u.check, u.layer, CheckKind::Path, CheckStatus::Unknown, format!("Could not get {}", u.missing.what))
        .with_evidence([u.missing.describe()])
}

impl WireArgs {
    /// The host and the port (from TARGET or --port), or the usage error.
    pub(crate) fn host_port(&self) -> Result<(String, u16), Error> {
        let (host, in_target) = split_target(&self.target);
        let port = self.port.or(in_target).ok_or_else(|| {
            Error::Usage(format!("'{}' has no port: give HOST:PORT or --port", self.target.escape_debug()))
        })?;
        if port == 0 {
            // Nothing listens on port 0; a probe would fail with a confusing error.
            return Err(Error::Usage(format!("'{}': port 0 is not a port (1-65535)", self.target.escape_debug())));
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

pub fn diagnose(args: DiagnoseArgs) -> Result<u8, Error> {
    let format = report_format(&args.report);
    let (host, port) = args.wire.host_port()?;
    let ssh_target = args.ssh.as_deref().map(SshTarget::parse).transpose().map_err(Error::Usage)?;
    if args.vantage.as_deref().is_some_and(|v| v != "ssh-host") {
        return Err(Error::Usage("--vantage: only `ssh-host` (the --ssh host) is known".into()));
    }
    // Progress on stderr for a person at a terminal; silent in JSON mode and in pipes.
    let progress = format != Format::Json && args.report.output.is_none() && std::io::stderr().is_terminal();
    let say = |what: &str| {
        if progress {
            crate::say!("portdoctor: {what}…");
        }
    };
    let mut unreached: Vec<Unreached> = Vec::new();

    // Where the target is: an address as given, or what the name resolves to (--resolve, a
    // case folder's dns.json, or the system resolver — never live for a case folder).
    let recorded = match &args.snapshot {
        Some(dir) => read_dns(dir)?,
        None => None,
    };
    let name = match host.parse::<IpAddr>() {
        Ok(_) => None,
        Err(_) => resolve_name(&host, port, &args, recorded.as_ref(), &mut unreached),
    };
    let target_ip: Option<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => name.as_ref().and_then(|n| n.addresses.first().copied()),
    };
    crate::check_family(args.aws.family, target_ip.filter(|_| name.is_none()), args.from)?;
    let cloud_target = match (&args.instance, target_ip) {
        (Some(i), _) => Some(CloudTarget::Instance(i.clone())),
        (None, Some(ip)) => Some(CloudTarget::PublicIp(ip)),
        // A name in a case folder: a load balancer's DNS name (or name) is followed through
        // the balancer; the cloud layer says so when no balancer has it.
        (None, None) if args.snapshot.is_some() => Some(CloudTarget::LoadBalancer(host.clone())),
        (None, None) => None,
    };
    let flow = FlowArgs { port, proto: args.wire.proto, from: args.from };
    // An address typed as the target names its family, even when --instance says which instance.
    let typed_family = host.parse::<IpAddr>().ok().as_ref().map(Family::of);
    let question = |t: CloudTarget, now| {
        let q = cloud_query(t, &flow, &args.aws, now);
        CloudQuery { name: name.clone(), family: q.family.or(typed_family), ..q }
    };

    let case = match &args.snapshot {
        Some(dir) => from_folder(dir, cloud_target.map(|t| question(t, None)).as_ref())?,
        None => {
            let api = aws_api(&args.aws);
            let now = crate::time::now();
            // Without an instance id, the cloud is asked only when access looks configured.
            let cloud = cloud_target
                .filter(|_| args.instance.is_some() || api.configured())
                .map(|t| (question(t, Some(now)), &api as &dyn CloudApi));
            let ssh = ssh_target.map(|t| {
                let opts = SshOptions {
                    config: args.ssh_config.clone(),
                    options: args.ssh_option.clone(),
                    identity: args.ssh_identity.clone(),
                };
                (t, opts)
            });
            let more_targets = name.iter().flat_map(|n| n.addresses.iter().skip(1).copied()).collect();
            gather(&LivePlan {
                target: target_ip,
                more_targets,
                port,
                proto: args.wire.proto,
                ports: args.wire.ports(port),
                timeout: args.wire.timeout(),
                ssh,
                probe_from_ssh_host: args.vantage.is_some(),
                witness: args.trace.map(|seconds| WitnessPlan {
                    port,
                    proto: args.wire.proto,
                    from: witness_from(args.from, target_ip, port),
                    seconds,
                    nftrace: args.nftrace,
                }),
                cloud,
                now,
                progress: &say,
            })
        }
    };
    let d = judge(case, unreached, &args, target_ip, port);
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

/// Whom the witness watches: `--from` as given; for `internet`, the address the probes leave
/// from when it is a public one (what the host sees of them; asked of the kernel by connecting a
/// UDP socket, which sends nothing), so drops of other clients on the same port (a busy server,
/// scanners) do not join this verdict. A private source (RFC 1918, RFC 6598) is rewritten by the
/// NAT in front of it: then every peer is watched, as without a target.
fn witness_from(from: Source, target: Option<IpAddr>, port: u16) -> Source {
    let Some(target) = target.filter(|_| from == Source::Internet) else { return from };
    let unspecified: IpAddr = match target {
        IpAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let local = std::net::UdpSocket::bind((unspecified, 0)).and_then(|s| {
        s.connect((target, port))?;
        s.local_addr()
    });
    match local.map(|a| a.ip()) {
        Ok(ip) if AddrSet::internet(Family::of(&ip)).contains(&ip) => Source::Prefix(Cidr::host(ip)),
        _ => Source::Internet,
    }
}

/// What the name resolves to: `--resolve` first, then what a case folder recorded, then (live
/// only) the system resolver, both families. IPv4 first, each address once: the first is the
/// one the cloud and host layers are judged for, the probes go to all of them.
fn resolve_name(
    host: &str,
    port: u16,
    args: &DiagnoseArgs,
    recorded: Option<&DnsRecord>,
    unreached: &mut Vec<Unreached>,
) -> Option<ResolvedName> {
    let wanted = host.to_ascii_lowercase();
    let given = args.resolve.iter().filter(|(n, _)| *n == wanted).flat_map(|(_, a)| a.iter().copied());
    let given: Vec<IpAddr> = given.collect();
    let (addresses, source) = if !given.is_empty() {
        (given, "--resolve".to_string())
    } else if let Some(r) = recorded.filter(|r| r.name.eq_ignore_ascii_case(host)) {
        (r.addresses.clone(), format!("{DNS_FILE}, recorded with the case"))
    } else if args.snapshot.is_some() {
        // Offline: a name is not resolved live for a case folder.
        return None;
    } else {
        match (host, port).to_socket_addrs() {
            Ok(found) => (found.map(|a| a.ip()).collect(), "the system resolver".to_string()),
            Err(e) => {
                let missing = Missing::new(
                    format!("the address of '{}'", host.escape_debug()),
                    e.to_string(),
                    "check the name, or give the address (or --resolve NAME:ADDR)",
                );
                unreached.push(Unreached { check: "path.resolve", layer: Layer::Path, missing });
                return None;
            }
        }
    };
    let mut unique: Vec<IpAddr> = Vec::new();
    for a in addresses {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    unique.sort_by_key(IpAddr::is_ipv6);
    (!unique.is_empty()).then(|| ResolvedName { name: host.to_string(), addresses: unique, source })
}

/// The engine on a case: the cloud layer first, then the host layer judged where the cloud
/// layer says the flow arrives (the interface's private address, so the host layer does not
/// guess it), then the join across the layers, the probes and the capture.
fn judge(
    case: Case,
    mut unreached: Vec<Unreached>,
    args: &DiagnoseArgs,
    target: Option<IpAddr>,
    port: u16,
) -> Diagnosis {
    let Case { cloud, host, probes, capture, witness, unreached: more, mut notes } = case;
    unreached.extend(more);
    let (proto, from) = (args.wire.proto, args.from);
    let cloud = cloud.map(CloudLayer::judge);
    let to = cloud.as_ref().and_then(|c| c.arrival);
    // Behind a load balancer the machine sees the target's port and the balancer's nodes.
    let (host_port, host_from) =
        cloud.as_ref().and_then(|c| c.behind.as_ref()).map_or((port, from), |b| (b.flow.port, b.flow.from));
    let host_query = |to| HostQuery { port: host_port, proto, from: host_from, to };
    if host.is_some() && (host_port != port || host_from != from) {
        notes.push(format!(
            "the host layer judges {proto}/{host_port} from {host_from}, as the load balancer's target sees it"
        ));
    }
    // Behind a balancer whose health checks differ from the traffic (another port, or the
    // nodes while the traffic keeps the clients' addresses): the host judged for them too, so
    // "nothing listens on the health-check port" is found.
    let health_flow = cloud.as_ref().and_then(|c| c.behind.as_ref()).and_then(|b| b.health_check);
    let health_host = match (&host, health_flow.filter(|f| *f != (host_port, host_from))) {
        (Some(ev), Some((hc_port, hc_from))) => {
            notes.push(format!(
                "the host layer also judges {proto}/{hc_port} from {hc_from}, the target group's health checks"
            ));
            Some(diagnose_host(ev, &HostQuery { port: hc_port, proto, from: hc_from, to }))
        }
        _ => None,
    };
    // A dual-stack target: the host layer is judged at each family's arrival, and merged.
    let arrivals = cloud.as_ref().map(|c| c.arrivals.clone()).unwrap_or_default();
    let host = host.and_then(|ev| {
        if arrivals.len() > 1 {
            let legs = arrivals.iter().map(|a| (Family::of(a), diagnose_host(&ev, &host_query(Some(*a))))).collect();
            let words = arrivals.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(" and ");
            notes.push(format!(
                "the host layer judges the flow arriving at {words}, each family's address the cloud layer resolved the target to"
            ));
            return family::merge_diagnoses(legs);
        }
        if let Some(a) = to {
            notes.push(format!(
                "the host layer judges the flow arriving at {a}, the private address the cloud layer resolved the target to"
            ));
        }
        Some(diagnose_host(&ev, &host_query(to)))
    });
    // The kernel's word joins the host layer before the layers are joined, so the reasoning
    // across them (the probes, the capture) sees a host blocker the kernel found.
    let (host, witness) = match (host, witness) {
        (Some(h), Some(w)) => (Some(with_witness(h, &w)), None),
        (h, w) => (h, w),
    };
    let instance = cloud.as_ref().and_then(|c| c.query.instance.clone()).or(args.instance.clone());
    let query = Query {
        command: "diagnose".into(),
        target: target.map(|i| i.to_string()).or_else(|| cloud.as_ref().and_then(|c| c.query.target.clone())),
        port,
        protocol: proto,
        from,
        instance,
    };
    let d = join(Layers {
        query,
        control_ports: args.wire.control_ports.clone(),
        probes,
        capture,
        cloud,
        host,
        health_host,
        unreached: unreached.into_iter().map(unknown).collect(),
        notes,
    });
    // No host layer (its evidence could not be read): the witness joins the whole verdict.
    match witness {
        Some(w) => with_witness(d, &w),
        None => d,
    }
}

/// A diagnosis with the kernel witness's report joined in, or its `unknown` check saying what
/// is missing (the verdict otherwise as it was).
fn with_witness(d: Diagnosis, w: &Knowledge<TraceReport>) -> Diagnosis {
    match w {
        Knowledge::Known(r) => portdoctor_trace::join(d, r),
        Knowledge::Unavailable(m) => portdoctor_trace::join_failure(
            d,
            &portdoctor_trace::TraceError { problem: format!("{}: {}", m.what, m.reason), remedy: m.remedy.clone() },
        ),
    }
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
