//! The host-firewall layer of `portdoctor host`: the inbound SYN through PREROUTING and INPUT,
//! the SYN-ACK through OUTPUT, turned into causes with their owner and fix. A PREROUTING
//! REDIRECT/DNAT hands the listener check the translated port.

use crate::firewall::{Compiled, Outcome, Packet, RuleRef, Verdict, attribute_in};
use crate::host::HostQuery;
use portdoctor_model::addrset::{AddrSet, describe_part};
use portdoctor_model::firewall::{Backend, Hook, Netfilter, ct};
use portdoctor_model::host::{HostEvidence, RouteType};
use portdoctor_model::net::{Cidr, Family, Proto, Source};
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Hop, Knowledge, Layer};
use std::net::IpAddr;

pub struct FirewallOutcome {
    pub checks: Vec<Check>,
    pub causes: Vec<Cause>,
    pub hop: Hop,
    /// Where traffic goes after PREROUTING NAT: (address, port, rule) — more than one when the
    /// rules spread connections over several endpoints (kube-proxy's `statistic`).
    pub nats: Vec<(IpAddr, u16, String)>,
    /// Blockers of the packets after the handshake: they matter only when a listener completes
    /// it (with none, the SYN is answered by a reset and nothing follows).
    pub after_handshake: Vec<Cause>,
    /// Blockers in FORWARD (a published port): after the routing decision, so behind IP
    /// forwarding in packet order.
    pub forward_causes: Vec<Cause>,
}

fn check(id: &str, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Host, CheckKind::Path, status, summary)
}

fn union(outs: &[&Outcome], family: Family) -> AddrSet {
    outs.iter().fold(AddrSet::empty(family), |a, o| a.union(&o.clients))
}

/// Groups blocked outcomes by the rule that decided them.
fn by_rule(outs: &[Outcome], pick: impl Fn(&Verdict) -> Option<&RuleRef>) -> Vec<(&RuleRef, Vec<&Outcome>)> {
    let mut groups: Vec<(&RuleRef, Vec<&Outcome>)> = Vec::new();
    for o in outs {
        if let Some(r) = pick(&o.verdict) {
            match groups.iter_mut().find(|(g, _)| *g == r) {
                Some((_, v)) => v.push(o),
                None => groups.push((r, vec![o])),
            }
        }
    }
    groups
}

/// Causes for the drops and rejects among `outs`, one per deciding rule. `phase` says which
/// packets (empty for the first SYN).
fn block_causes(
    cx: &Compiled<'_>,
    pkt: &Packet,
    outs: &[Outcome],
    q: &HostQuery,
    describe: &dyn Fn(&AddrSet) -> String,
    phase: &str,
) -> Vec<Cause> {
    let (nf, family) = (cx.netfilter(), pkt.family);
    let flow = format!("{}/{}", q.proto, q.port);
    let mut causes = Vec::new();
    for (rule, group) in by_rule(outs, |v| match v {
        Verdict::Drop(r) | Verdict::Reject(r, _) => Some(r),
        _ => None,
    }) {
        let who = union(&group, family);
        let reject = group.iter().find_map(|o| match &o.verdict {
            Verdict::Reject(_, k) => Some(k.clone()),
            _ => None,
        });
        let (owner, fix) = attribute_in(nf, rule, q.proto.as_str(), q.port, family);
        let component = format!("{} {} {}", rule.backend.name(), rule.table, rule.chain);
        let Some(kind) = reject else {
            let message = format!("The host firewall ({owner}) drops {flow} from {}{phase}", describe(&who));
            causes.push(
                Cause::blocking(CauseCode::HostFirewallDrop, component, Confidence::Confirmed, message)
                    .with_evidence([rule.describe(), format!("decides for {}", describe(&who))])
                    .with_fix(fix),
            );
            continue;
        };
        // The RST or ICMP error a REJECT sends must itself leave through OUTPUT; where it is
        // dropped there, the client sees silence, as with DROP.
        let answer = cx.evaluate(&pkt.reject_answer(&kind), &who);
        let silenced: Vec<&Outcome> =
            answer.iter().filter(|o| matches!(o.verdict, Verdict::Drop(_) | Verdict::Reject(..))).collect();
        let silent = union(&silenced, family);
        let heard = who.minus(&silent);
        if !heard.is_empty() {
            let message =
                format!("The host firewall ({owner}) rejects ({kind}) {flow} from {}{phase}", describe(&heard));
            causes.push(
                Cause::blocking(CauseCode::HostFirewallReject, component.clone(), Confidence::Confirmed, message)
                    .with_evidence([rule.describe(), format!("decides for {}", describe(&heard))])
                    .with_fix(fix.clone()),
            );
        }
        if !silent.is_empty() {
            let out_rule = silenced.iter().find_map(|o| match &o.verdict {
                Verdict::Drop(r) | Verdict::Reject(r, _) => Some(r.describe()),
                _ => None,
            });
            let message = format!(
                "The host firewall ({owner}) rejects {flow} from {}{phase}, and its answer ({kind}) is dropped on the way out, so clients see silence",
                describe(&silent)
            );
            causes.push(
                Cause::blocking(CauseCode::HostFirewallDrop, component, Confidence::Confirmed, message)
                    .with_evidence(
                        [rule.describe()].into_iter().chain(out_rule.map(|r| format!("the answer is dropped by {r}"))),
                    )
                    .with_fix(fix),
            );
        }
    }
    causes
}

/// A later packet of the connection `first` opened (ESTABLISHED), addressed where NAT sent it.
fn after_nat(first: &Packet, nat: Option<(IpAddr, u16)>) -> Packet {
    let (local, local_port) = nat.unwrap_or((first.local, first.local_port));
    Packet {
        local,
        local_port,
        orig_dst: nat.map(|_| (first.local, first.local_port)),
        ct_state: ct::ESTABLISHED | if nat.is_some() { ct::DNAT } else { 0 },
        ..first.clone()
    }
}

/// IPv6 needs neighbor discovery on the arrival link: the router asks for this host's address
/// (solicitation in, advertisement out) and this host asks for the router's (solicitation out,
/// advertisement in). ND messages are never tracked (`noct_valid_new` in
/// nf_conntrack_proto_icmpv6.c), so `ct state established` does not admit them; a ruleset that
/// drops them cuts the host off from every IPv6 client, whatever its port rules say.
fn neighbor_discovery(cx: &Compiled<'_>, pkt: &Packet, ev: &HostEvidence, q: &HostQuery) -> Vec<Cause> {
    let routes = ev.routes.known().map(Vec::as_slice).unwrap_or_default();
    let client = match q.from {
        Source::Prefix(c) if c.family() == Family::V6 => Some(c.addr()),
        _ => None,
    };
    // The neighbor the traffic comes through: the route's gateway (or the client itself on the
    // link), and any link-local router address.
    let via = crate::host::route_to(routes, Family::V6, client).and_then(|r| r.gateway).or(client);
    let link_local: Cidr = "fe80::/10".parse().expect("a valid prefix");
    let mut neighbors = AddrSet::from_cidr(&link_local);
    if let Some(v) = via {
        neighbors = neighbors.union(&AddrSet::from_cidr(&Cidr::host(v)));
    }
    let nd =
        Packet { proto: 58, ct_state: ct::UNTRACKED, tcp_flags: 0, client_ports: (0, 0), local_port: 0, ..pkt.clone() };
    let mut causes = Vec::new();
    for (reply, icmp_type, what) in [
        (false, 135, "neighbor solicitations from the router"),
        (true, 136, "neighbor advertisements to the router"),
        (true, 135, "neighbor solicitations to the router"),
        (false, 136, "neighbor advertisements from the router"),
    ] {
        let probe = Packet { reply, icmp_type: Some(icmp_type), ..nd.clone() };
        for (rule, outs) in by_rule(&cx.evaluate(&probe, &neighbors), |v| match v {
            Verdict::Drop(r) | Verdict::Reject(r, _) => Some(r),
            _ => None,
        }) {
            if causes.iter().any(|c: &Cause| c.evidence.first() == Some(&rule.describe())) {
                continue;
            }
            let (owner, _) = attribute_in(cx.netfilter(), rule, "icmpv6", 0, Family::V6);
            let who = union(&outs, Family::V6);
            let chain = if reply { "OUTPUT" } else { "INPUT" };
            let fix = match rule.backend {
                Backend::Nftables => format!(
                    "nft insert rule inet {} {} icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert }} accept",
                    rule.table, rule.chain
                ),
                _ => format!(
                    "ip6tables -I {chain} 1 -p ipv6-icmp -m icmp6 --icmpv6-type {} -j ACCEPT (and the same for neighbour-advertisement)",
                    "neighbour-solicitation"
                ),
            };
            let message = format!(
                "The host firewall ({owner}) drops IPv6 neighbor discovery ({what}, ICMPv6 type {icmp_type}): the router cannot reach {} on the link, so no IPv6 {}/{} arrives",
                pkt.local, q.proto, q.port
            );
            causes.push(
                Cause::blocking(CauseCode::HostFirewallDrop, format!("{} {} {}", rule.backend.name(), rule.table, rule.chain), Confidence::Confirmed, message)
                    .with_evidence([
                        rule.describe(),
                        format!("decides for {} (neighbor discovery is never conntrack-tracked: `established` rules do not admit it)", describe_part(&who, &neighbors, false)),
                    ])
                    .with_fix([fix, "ufw and firewalld admit neighbor discovery themselves: if they manage this host, restore their ICMPv6 rules (ufw: /etc/ufw/before6.rules)".to_string()]),
            );
        }
    }
    causes
}

pub fn host_firewall(
    ev: &HostEvidence,
    q: &HostQuery,
    local: Option<IpAddr>,
    iface: Option<&str>,
    family: Family,
) -> FirewallOutcome {
    let id = "host.firewall";
    let nf: &Netfilter = match &ev.netfilter {
        Knowledge::Known(nf) => nf,
        Knowledge::Unavailable(m) => {
            return FirewallOutcome {
                checks: vec![
                    check(id, CheckStatus::Unknown, "Could not read the firewall rules").with_evidence([m.describe()]),
                ],
                causes: vec![],
                hop: Hop::new("host-firewall", "netfilter", CheckStatus::Unknown, "rules could not be read"),
                nats: vec![],
                after_handshake: vec![],
                forward_causes: vec![],
            };
        }
    };
    let Some(local) = local else {
        return FirewallOutcome {
            checks: vec![check(
                id,
                CheckStatus::Unknown,
                "The arrival address is unknown, so the rules cannot be walked",
            )],
            causes: vec![],
            hop: Hop::new("host-firewall", "netfilter", CheckStatus::Unknown, "arrival address unknown"),
            nats: vec![],
            after_handshake: vec![],
            forward_causes: vec![],
        };
    };
    let internet = matches!(q.from, Source::Internet);
    let clients = portdoctor_model::addrset::clients(&q.from, family);
    let local_addrs = ev.local_addrs();
    let proto = match q.proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    };
    // Where forwarded packets leave (a published container port's bridge): the main table.
    let routes: Vec<(Cidr, String)> = ev
        .routes
        .known()
        .into_iter()
        .flatten()
        .filter(|r| r.table == "main" && r.kind == RouteType::Unicast)
        .filter_map(|r| Some((r.dst, r.dev.clone()?)))
        .collect();
    let pkt = Packet {
        local_addrs: local_addrs.clone(),
        routes,
        ..Packet::first(family, proto, local, q.port, iface.map(str::to_string))
    };
    let cx = Compiled::new(nf);
    let inbound = cx.evaluate(&pkt, &clients);
    let flow = format!("{}/{}", q.proto, q.port);
    let describe = |s: &AddrSet| describe_part(s, &clients, internet);
    let mut causes = Vec::new();
    let mut checks = Vec::new();
    let mut evidence = Vec::new();
    let tables: Vec<String> = nf.tables.iter().map(|t| format!("{} {}", t.backend.name(), t.name)).collect();
    evidence.push(format!(
        "walked {} table(s): {}",
        tables.len(),
        if tables.is_empty() { "none (no rules loaded)".into() } else { tables.join(", ") }
    ));

    // Without neighbor discovery nothing arrives over IPv6: first in packet order.
    if family == Family::V6 {
        causes.extend(neighbor_discovery(&cx, &pkt, ev, q));
    }
    let (forwarded, delivered): (Vec<Outcome>, Vec<Outcome>) =
        inbound.iter().cloned().partition(|o| o.hook == Some(Hook::Forward));
    causes.extend(block_causes(&cx, &pkt, &delivered, q, &describe, ""));
    let forward_causes = block_causes(&cx, &pkt, &forwarded, q, &describe, "");
    let unknown: Vec<&Outcome> = inbound.iter().filter(|o| matches!(o.verdict, Verdict::Unknown(..))).collect();
    for o in &unknown {
        if let Verdict::Unknown(r, why) = &o.verdict {
            evidence.push(format!(
                "{} — the outcome for {} depends on a match this version does not model: {why}",
                r.describe(),
                describe(&o.clients)
            ));
        }
    }
    let exceptions = |outs: &[Outcome]| -> Vec<String> {
        let mut v: Vec<String> = outs.iter().flat_map(|o| o.port_exceptions.iter().cloned()).collect();
        v.dedup();
        v.into_iter().map(|e| format!("{e} (clients normally use ephemeral ports, so this is the exception)")).collect()
    };
    evidence.extend(exceptions(&inbound));
    let accepted: Vec<&Outcome> = inbound.iter().filter(|o| o.verdict == Verdict::Accept).collect();
    // The handshake's ACK and everything after it are ESTABLISHED: a ruleset that admits NEW
    // but not ESTABLISHED lets the SYN in and loses the connection after it.
    // Conntrack applies a connection's NAT to every later packet (the nat chains see only the
    // first), so each group of clients is walked with its own translated destination.
    let mut after_handshake = Vec::new();
    if q.proto == Proto::Tcp {
        for o in &accepted {
            let later = Packet { tcp_flags: 16, ..after_nat(&pkt, o.nat.as_ref().map(|(a, p, _)| (*a, *p))) };
            let outs = cx.evaluate(&later, &o.clients);
            let phase = " after the handshake (the connection's ESTABLISHED packets)";
            after_handshake.extend(block_causes(&cx, &later, &outs, q, &describe, phase));
        }
    }
    // Where NAT sends the flow, also when a later hook drops it (the listener there still matters
    // for every other blocker, and the drop is already a cause).
    let mut nats: Vec<(IpAddr, u16, String)> = Vec::new();
    for (a, p, r) in accepted.iter().copied().chain(inbound.iter()).filter_map(|o| o.nat.as_ref()) {
        if !nats.iter().any(|(na, np, _)| na == a && np == p) {
            nats.push((*a, *p, r.describe()));
        }
    }
    for (a, p, r) in &nats {
        evidence.push(format!("NAT in PREROUTING: {flow} to {local} goes to {a}:{p} ({r})"));
    }
    if nats.len() > 1 {
        evidence.push(format!(
            "the rules spread new connections over {} endpoints (statistic): each is judged",
            nats.len()
        ));
    }
    let unmodeled_matters = !nf.unmodeled.is_empty() && !accepted.is_empty();
    let status = if !causes.is_empty() || !after_handshake.is_empty() || !forward_causes.is_empty() {
        CheckStatus::Fail
    } else if !unknown.is_empty() || unmodeled_matters {
        CheckStatus::Unknown
    } else {
        CheckStatus::Pass
    };
    if unmodeled_matters {
        // Each entry says what was not read, why, and how to read it.
        evidence.extend(nf.unmodeled.iter().cloned());
    }
    let summary = match status {
        CheckStatus::Fail => causes
            .first()
            .or(forward_causes.first())
            .or(after_handshake.first())
            .map(|c| c.message.clone())
            .unwrap_or_default(),
        CheckStatus::Unknown => format!("Could not fully decide whether the host firewall admits {flow}"),
        _ => format!("The host firewall admits {flow} from {}", describe(&clients)),
    };
    checks.push(check(id, status, summary.clone()).with_evidence(evidence));

    // The SYN-ACK (or UDP answer) on its way out, through OUTPUT (FORWARD from a container), to
    // the accepted clients of each place NAT sends them.
    let mut answering: Vec<(Option<(IpAddr, u16)>, AddrSet)> = Vec::new();
    for o in &accepted {
        let to = o.nat.as_ref().map(|(a, p, _)| (*a, *p));
        match answering.iter_mut().find(|(t, _)| *t == to) {
            Some((_, set)) => *set = set.union(&o.clients),
            None => answering.push((to, o.clients.clone())),
        }
    }
    for (n, (to, accepted_set)) in answering.into_iter().enumerate() {
        // One check per place the replies come from: the first keeps the plain id.
        let id =
            if n == 0 { "host.firewall.output".to_string() } else { format!("host.firewall.output.endpoint{}", n + 1) };
        let reply = Packet { reply: true, tcp_flags: 2 | 16, ..after_nat(&pkt, to) };
        let out = cx.evaluate(&reply, &accepted_set);
        // A container's replies are forwarded back (FORWARD); the host's own leave by OUTPUT.
        let way = if reply.is_local(&reply.local) { "OUTPUT" } else { "FORWARD" };
        let mut reply_causes = Vec::new();
        for (rule, outs) in by_rule(&out, |v| match v {
            Verdict::Drop(r) | Verdict::Reject(r, _) => Some(r),
            _ => None,
        }) {
            let who = union(&outs, family);
            let (owner, _) = attribute_in(nf, rule, q.proto.as_str(), q.port, family);
            let ipt = if family == Family::V6 { "ip6tables" } else { "iptables" };
            let message = format!(
                "The host firewall ({owner}) drops the replies of {flow} to {} on the way out ({way})",
                describe(&who)
            );
            reply_causes.push(
                Cause::blocking(CauseCode::HostFirewallOutputDrop, format!("{} {} {}", rule.backend.name(), rule.table, rule.chain), Confidence::Confirmed, message)
                    .with_evidence([rule.describe()])
                    .with_fix([format!("{ipt} -I {way} 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT (replies of admitted connections)")]),
            );
        }
        let undecided: Vec<String> = out
            .iter()
            .filter_map(|o| match &o.verdict {
                Verdict::Unknown(r, why) => Some(format!(
                    "{} — the outcome for replies to {} depends on a match this version does not model: {why}",
                    r.describe(),
                    describe(&o.clients)
                )),
                _ => None,
            })
            .collect();
        let (status, summary) = match reply_causes.first() {
            Some(c) => (CheckStatus::Fail, c.message.clone()),
            None if !undecided.is_empty() => {
                (CheckStatus::Unknown, format!("Could not fully decide whether the replies of {flow} leave"))
            }
            None => (CheckStatus::Pass, format!("Replies of {flow} leave through {way}")),
        };
        checks.push(check(&id, status, summary).with_evidence(
            undecided.into_iter().chain(exceptions(&out).into_iter().map(|e| format!("replies to {e}"))),
        ));
        causes.extend(reply_causes);
    }
    let hop_status = checks.iter().map(|c| c.status).find(|s| *s == CheckStatus::Fail).unwrap_or(status);
    let hop = Hop::new("host-firewall", "netfilter", hop_status, checks[0].summary.clone());
    FirewallOutcome { checks, causes, hop, nats, after_handshake, forward_causes }
}
