//! `portdoctor diagnose`: the plan from the command line, the case from its sources (a case
//! folder, or live: probes from here, the cloud and platform layers, the host over SSH with a
//! capture at its NIC — portdoctor_collect::case), then the engine on the case
//! (`portdoctor_engine::diagnose::judge_case`: which host is judged for which flow, the kernel
//! witness, the reasoning across the layers), then the report. The cloud layer is judged first
//! when planning needs it: behind a load balancer its targets say which hosts to reach and which
//! port the witness watches.

use crate::cli::{DiagnoseArgs, FlowArgs, WireArgs};
use crate::error::Error;
use crate::{aws_api, cloud_query, emit, report_format};
use portdoctor_collect::case::{
    Case, DNS_FILE, DnsRecord, HOSTS_DIR, LivePlan, TargetHosts, Unreached, from_folder, gather, read_cloud, read_dns,
    target_hosts_over_ssh, target_read_crashed,
};
use portdoctor_collect::cloud::{CloudApi, CloudLayer};
use portdoctor_collect::remote_trace::WitnessPlan;
use portdoctor_collect::ssh::{SshOptions, SshTarget};
use portdoctor_engine::cloud::{CloudQuery, CloudTarget, ResolvedName};
use portdoctor_engine::diagnose::{CaseEvidence, CaseQuestion, judge_case};
use portdoctor_model::addrset::AddrSet;
use portdoctor_model::elb::BehindBalancer;
use portdoctor_model::net::{Cidr, Family, Source};
use portdoctor_model::{Diagnosis, Layer, Missing};
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

    let ssh_opts = SshOptions {
        config: args.ssh_config.clone(),
        options: args.ssh_option.clone(),
        identity: args.ssh_identity.clone(),
    };
    let (case, cloud) = match &args.snapshot {
        Some(dir) => {
            let mut case = from_folder(dir, cloud_target.map(|t| question(t, None)).as_ref())?;
            let cloud = case.cloud.take().map(CloudLayer::judge);
            let behind = behind_of(cloud.as_ref());
            known_targets(
                case.target_hosts.iter().map(|(id, _)| (format!("{}/{id}/", HOSTS_DIR), id.as_str())),
                behind,
            )?;
            // The one live read of a case folder: the targets' hosts named with --target-ssh.
            let reach = plan_target_ssh(&args.target_ssh, behind)?;
            if !reach.is_empty() {
                let read = read_targets(reach, &ssh_opts, &say);
                case.target_hosts.retain(|(id, _)| !read.0.iter().any(|(r, _)| r == id));
                case.target_hosts.extend(read.0);
                case.notes.extend(read.1);
            }
            (case, cloud)
        }
        None => {
            let api = aws_api(&args.aws);
            let now = crate::time::now();
            // Without an instance id, the cloud is asked only when access looks configured.
            let asked =
                cloud_target.filter(|_| args.instance.is_some() || api.configured()).map(|t| question(t, Some(now)));
            // Behind a load balancer the targets must be known before they are reached, and
            // the witness on a target watches the port the balancer forwards to: the cloud
            // layer first, then the rest.
            let read_apart = asked.is_some() && (args.trace.is_some() || !args.target_ssh.is_empty());
            let early = match (&asked, read_apart) {
                (Some(q), true) => {
                    say("reading the cloud and platform layers");
                    read_cloud(q, &api, now, &mut unreached).map(CloudLayer::judge)
                }
                _ => None,
            };
            let behind = behind_of(early.as_ref());
            let reach = plan_target_ssh(&args.target_ssh, behind)?;
            let ssh = ssh_target.map(|t| (t, ssh_opts.clone()));
            let more_targets = name.iter().flat_map(|n| n.addresses.iter().skip(1).copied()).collect();
            let witness = args.trace.map(|seconds| {
                let (port, from) = witnessed_flow(behind.first(), args.from, target_ip, port);
                WitnessPlan { port, proto: args.wire.proto, from, seconds, nftrace: args.nftrace }
            });
            let plan = LivePlan {
                target: target_ip,
                more_targets,
                port,
                proto: args.wire.proto,
                ports: args.wire.ports(port),
                timeout: args.wire.timeout(),
                ssh,
                probe_from_ssh_host: args.vantage.is_some(),
                witness,
                cloud: asked.filter(|_| !read_apart).map(|q| (q, &api as &dyn CloudApi)),
                cloud_read_apart: read_apart,
                now,
                progress: &say,
            };
            // The targets' hosts are read while the probes run.
            let planned: Vec<String> = reach.iter().map(|(id, _)| id.clone()).collect();
            let (mut case, (hosts, notes)) = std::thread::scope(|scope| {
                let targets = scope.spawn(|| read_targets(reach, &ssh_opts, &say));
                let case = gather(&plan);
                // A panic there leaves every planned target `unknown`, never silently absent.
                let crashed =
                    || (planned.iter().map(|id| (id.clone(), Err(target_read_crashed(id)))).collect(), vec![]);
                (case, targets.join().unwrap_or_else(|_| crashed()))
            });
            case.target_hosts = hosts;
            case.notes.extend(notes);
            let cloud = early.or_else(|| case.cloud.take().map(CloudLayer::judge));
            (case, cloud)
        }
    };
    let d = judge(case, cloud, unreached, &args, target_ip, port);
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

/// Behind a load balancer, the targets the cloud layer found (none otherwise).
fn behind_of(cloud: Option<&Diagnosis>) -> &[BehindBalancer] {
    cloud.map_or(&[], |c| c.behind.as_slice())
}

/// The targets' ids, for a message.
fn target_list(behind: &[BehindBalancer]) -> String {
    if behind.is_empty() {
        return "none: the cloud layer found no load balancer with targets here".to_string();
    }
    behind.iter().map(|b| b.target.as_str()).collect::<Vec<_>>().join(", ")
}

/// Every target named (`hosts/TARGET/`, `--target-ssh TARGET=…`) is one of the balancer's;
/// else a usage error naming the targets it has.
fn known_targets<'a>(
    named: impl IntoIterator<Item = (String, &'a str)>,
    behind: &[BehindBalancer],
) -> Result<(), Error> {
    for (given_as, id) in named {
        if !behind.iter().any(|b| b.target.eq_ignore_ascii_case(id)) {
            return Err(Error::Usage(format!(
                "{given_as}: the load balancer has no target '{}'; its targets: {}",
                id.escape_debug(),
                target_list(behind)
            )));
        }
    }
    Ok(())
}

/// The word that covers every target in `--target-ssh all=TEMPLATE`.
const ALL_TARGETS: &str = "all";

/// Which target's host to reach at which ssh destination, by target id, in the cloud layer's
/// order: `TARGET=DEST` as given, `all=TEMPLATE` for every other target with `{id}` and `{ip}`
/// filled in. A target that is not the balancer's, a target named twice, or a destination ssh
/// would not take is a usage error; a template's `{ip}` for a target whose address the evidence
/// lacks is that target's `unknown` host.
fn plan_target_ssh(given: &[(String, String)], behind: &[BehindBalancer]) -> Result<ReachPlan, Error> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let named: Vec<&(String, String)> = given.iter().filter(|(t, _)| t != ALL_TARGETS).collect();
    known_targets(named.iter().map(|(t, d)| (format!("--target-ssh {t}={d}"), t.as_str())), behind)?;
    let template = given.iter().filter(|(t, _)| t == ALL_TARGETS).map(|(_, d)| d.as_str());
    let template: Vec<&str> = template.collect();
    if template.len() > 1 || named.iter().enumerate().any(|(i, (t, _))| named[..i].iter().any(|(u, _)| u == t)) {
        return Err(Error::Usage("--target-ssh: each target (and `all`) may be given once".into()));
    }
    let mut out = Vec::new();
    for b in behind {
        let dest = match named.iter().find(|(t, _)| t.eq_ignore_ascii_case(&b.target)) {
            Some((_, d)) => d.clone(),
            None => match template.first() {
                Some(t) if t.contains("{ip}") && b.ip.is_none() => {
                    let missing = Missing::new(
                        format!("target {}'s host over SSH", b.target),
                        "its address is not in the evidence (no interface of it in NetworkInterfaces), so {ip} has no value",
                        format!("give --target-ssh {}=DEST", b.target),
                    );
                    out.push((b.target.clone(), Err(missing)));
                    continue;
                }
                Some(t) => {
                    t.replace("{id}", &b.target).replace("{ip}", &b.ip.map(|i| i.to_string()).unwrap_or_default())
                }
                None => continue,
            },
        };
        let t = SshTarget::parse(&dest).map_err(|e| Error::Usage(format!("--target-ssh {}: {e}", b.target)))?;
        out.push((b.target.clone(), Ok(t)));
    }
    Ok(out)
}

/// Which target to reach at which ssh destination, by target id; or why it cannot be.
type ReachPlan = Vec<(String, Result<SshTarget, Missing>)>;

/// The planned targets' hosts over SSH (all at once); a destination that could not be made is
/// that target's `unknown` host.
fn read_targets(plan: ReachPlan, opts: &SshOptions, say: &(dyn Fn(&str) + Sync)) -> (TargetHosts, Vec<String>) {
    let (reachable, unplaced): (Vec<_>, Vec<_>) = plan.into_iter().partition(|(_, t)| t.is_ok());
    let reachable = reachable.into_iter().filter_map(|(id, t)| Some((id, t.ok()?))).collect();
    let (mut hosts, notes) = target_hosts_over_ssh(reachable, opts, say);
    hosts.extend(unplaced.into_iter().filter_map(|(id, t)| Some((id, Err(t.err()?)))));
    (hosts, notes)
}

/// What the kernel witness on the --ssh host watches: behind a load balancer (that host is its
/// first target) the port the balancer forwards to and the sources the target sees; else the
/// question's port and client (`witness_from`).
fn witnessed_flow(first: Option<&BehindBalancer>, from: Source, target: Option<IpAddr>, port: u16) -> (u16, Source) {
    match first {
        // With client IP preservation the target sees the clients themselves.
        Some(b) if b.flow.from == from => (b.flow.port, witness_from(from, target, port)),
        Some(b) => (b.flow.port, b.flow.from),
        None => (port, witness_from(from, target, port)),
    }
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

/// The engine on a case: the cloud layer (judged already) is part of the question, the rest of
/// what the sources gave is the evidence (`portdoctor_engine::diagnose::judge_case`).
fn judge(
    case: Case,
    cloud: Option<Diagnosis>,
    unreached: Vec<Unreached>,
    args: &DiagnoseArgs,
    target: Option<IpAddr>,
    port: u16,
) -> Diagnosis {
    let Case { cloud: _, host, target_hosts, probes, capture, witness, unreached: more, notes } = case;
    let unknown = unreached.into_iter().chain(more).map(Unreached::unknown).collect();
    let question = CaseQuestion {
        port,
        proto: args.wire.proto,
        from: args.from,
        target,
        instance: args.instance.clone(),
        control_ports: args.wire.control_ports.clone(),
        cloud,
    };
    judge_case(question, CaseEvidence { host, target_hosts, probes, capture, witness, unknown, notes })
}

#[cfg(test)]
mod tests {
    use super::{split_target, witnessed_flow};
    use portdoctor_model::diagnosis::ArrivalFlow;
    use portdoctor_model::elb::BehindBalancer;
    use portdoctor_model::net::Source;

    #[test]
    fn behind_a_balancer_the_witness_watches_the_targets_port() {
        let nodes: Source = "10.20.0.0/16".parse().unwrap();
        let first = BehindBalancer {
            target: "i-1".into(),
            ip: None,
            flow: ArrivalFlow { port: 8080, from: nodes, others_healthy: 0, targets: 1 },
            health_check: None,
            reason: None,
            healthy: true,
        };
        assert_eq!(witnessed_flow(Some(&first), Source::Internet, None, 443), (8080, nodes));
        // With client IP preservation the target sees the clients themselves.
        let kept = BehindBalancer { flow: ArrivalFlow { from: Source::Internet, ..first.flow }, ..first.clone() };
        assert_eq!(witnessed_flow(Some(&kept), Source::Internet, None, 443), (8080, Source::Internet));
        // No balancer: the port asked about.
        assert_eq!(witnessed_flow(None, Source::Internet, None, 443), (443, Source::Internet));
    }

    #[test]
    fn targets() {
        assert_eq!(split_target("203.0.113.10:8080"), ("203.0.113.10".into(), Some(8080)));
        assert_eq!(split_target("[2001:db8::1]:443"), ("2001:db8::1".into(), Some(443)));
        assert_eq!(split_target("2001:db8::1"), ("2001:db8::1".into(), None));
        assert_eq!(split_target("web.example.com"), ("web.example.com".into(), None));
        assert_eq!(split_target("$(touch x):80"), ("$(touch x)".into(), Some(80)));
    }
}
