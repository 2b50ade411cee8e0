//! The host-firewall layer of `portdoctor host`: the inbound SYN through PREROUTING and INPUT,
//! the SYN-ACK through OUTPUT, turned into causes with their owner and fix. A PREROUTING
//! REDIRECT/DNAT hands the listener check the translated port.

use crate::firewall::{Compiled, Outcome, Packet, RuleRef, Verdict, attribute_in, nft_insert_rule, table_of};
use crate::host_query::HostQuery;
use portdoctor_model::addrset::{AddrSet, describe_part};
use portdoctor_model::firewall::{Backend, ChainKind, Hook, Netfilter, ct};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::HostEvidence;
use portdoctor_model::host_path::{HostCheck, HostHop};
use portdoctor_model::net::{Cidr, Family, Proto, Source};
use portdoctor_model::{Cause, CauseCode, Check, CheckStatus, Confidence, Hop, Knowledge};
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
    /// The rules of a nat table where the walk could not decide (a match this version does not
    /// model): whether they translate the flow is unknown, so is where it is delivered.
    pub nat_undecided: Vec<String>,
}

impl FirewallOutcome {
    /// No walk: the check says why, the hop is unknown.
    fn undecided(c: Check, detail: &str) -> FirewallOutcome {
        FirewallOutcome {
            checks: vec![c],
            causes: vec![],
            hop: Hop::new(HostHop::HostFirewall.as_str(), "netfilter", CheckStatus::Unknown, detail),
            nats: vec![],
            after_handshake: vec![],
            forward_causes: vec![],
            nat_undecided: vec![],
        }
    }
}

use crate::host_query::host_check as check;

/// Client source ports for which the rules decide otherwise, as evidence lines.
fn exceptions(outs: &[Outcome]) -> Vec<String> {
    let mut v: Vec<String> = outs.iter().flat_map(|o| o.port_exceptions.iter().cloned()).collect();
    v.dedup();
    v.into_iter().map(|e| format!("{e} (clients normally use ephemeral ports, so this is the exception)")).collect()
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
        let notes = load_notes(group.iter().copied());
        let Some(kind) = reject else {
            let message = format!("The host firewall ({owner}) drops {flow} from {}{phase}", describe(&who));
            causes.push(
                Cause::blocking(CauseCode::HostFirewallDrop, component, Confidence::Confirmed, message)
                    .with_evidence(
                        [rule.describe(), format!("decides for {}", describe(&who))].into_iter().chain(notes),
                    )
                    .with_fix(fix),
            );
            continue;
        };
        // The RST or ICMP error a REJECT sends must itself leave through OUTPUT; where it is
        // dropped there, the client sees silence, as with DROP. It answers from where the
        // rejected packet was addressed: past a DNAT, the container's address until srcnat
        // gives the original back.
        let (local, local_port) = pkt.orig_dst.unwrap_or((pkt.local, pkt.local_port));
        let mut answer = Vec::new();
        for o in &group {
            let nat = o.nat.as_ref().map(|(a, p, _)| (*a, *p)).or(pkt.rewrite);
            let from = later(&Packet { local, local_port, ..pkt.clone() }, nat, None, true).reject_answer(&kind);
            answer.extend(cx.evaluate(&from, &o.clients));
        }
        let silenced: Vec<&Outcome> =
            answer.iter().filter(|o| matches!(o.verdict, Verdict::Drop(_) | Verdict::Reject(..))).collect();
        let silent = union(&silenced, family);
        let heard = who.minus(&silent);
        if !heard.is_empty() {
            let message =
                format!("The host firewall ({owner}) rejects ({kind}) {flow} from {}{phase}", describe(&heard));
            causes.push(
                Cause::blocking(CauseCode::HostFirewallReject, component.clone(), Confidence::Confirmed, message)
                    .with_evidence(
                        [rule.describe(), format!("decides for {}", describe(&heard))]
                            .into_iter()
                            .chain(notes.iter().cloned()),
                    )
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

/// A later packet of the connection `first` opened (ESTABLISHED), in `reply` direction or not.
/// With NAT, it carries the address it travels with and conntrack rewrites it at the NAT point
/// (`firewall::seen_at`): a client's packet arrives for the original destination and is
/// translated at dstnat; a reply leaves the container (or the redirected port) and gets the
/// original source back at srcnat. `snat` is the client's source NAT, where the first packet
/// was masqueraded on its way out (toward a container or pod).
fn later(first: &Packet, nat: Option<(IpAddr, u16)>, snat: Option<Option<IpAddr>>, reply: bool) -> Packet {
    let original = (first.local, first.local_port);
    let ((local, local_port), rewrite) = match nat {
        Some(to) if reply => (to, Some(original)),
        Some(to) => (original, Some(to)),
        None => (original, None),
    };
    Packet {
        local,
        local_port,
        reply,
        rewrite,
        client_nat: snat,
        orig_dst: nat.map(|_| original),
        ct_state: ct::ESTABLISHED
            | if nat.is_some_and(|to| to != original) { ct::DNAT } else { 0 }
            | if snat.is_some() { ct::SNAT } else { 0 },
        ..first.clone()
    }
}

/// The load notes of some outcomes, once each.
fn load_notes<'a>(outs: impl IntoIterator<Item = &'a Outcome>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for n in outs.into_iter().flat_map(|o| &o.load_notes) {
        if !v.contains(n) {
            v.push(n.clone());
        }
    }
    v
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
    let via = crate::routing::route_to(routes, &[], Family::V6, client).and_then(|r| r.gateway).or(client);
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
        let probe = Packet { reply, icmp_type: Some(icmp_type), icmp_code: Some(0), ..nd.clone() };
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
                Backend::Nftables => Fix::run(
                    nft_insert_rule(table_of(cx.netfilter(), rule, Family::V6).map(|t| t.family))
                        .nft_name(&rule.table)
                        .nft_name(&rule.chain)
                        .lit("icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept"),
                ),
                _ => Fix::run(
                    ShellCommand::new("ip6tables -I")
                        .arg(chain)
                        .lit("1 -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT"),
                )
                .then_text(" (and the same for neighbour-advertisement)"),
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
                    .with_fix([fix, Fix::text("ufw and firewalld admit neighbor discovery themselves: if they manage this host, restore their ICMPv6 rules (ufw: /etc/ufw/before6.rules)")]),
            );
        }
    }
    causes
}

/// What the reply side needs of the inbound walk.
struct Replies<'a> {
    cx: &'a Compiled<'a>,
    nf: &'a Netfilter,
    /// The client's first packet.
    first: &'a Packet,
    q: &'a HostQuery,
    describe: &'a dyn Fn(&AddrSet) -> String,
}

/// The replies' checks and causes, one check per place they come from.
fn replies(r: &Replies<'_>, accepted: &[&Outcome]) -> (Vec<Check>, Vec<Cause>) {
    let (nf, q, describe, family) = (r.nf, r.q, r.describe, r.first.family);
    let flow = format!("{}/{}", q.proto, q.port);
    let mut checks = Vec::new();
    let mut causes = Vec::new();
    // The SYN-ACK (or UDP answer) on its way out, through OUTPUT (FORWARD from a container), to
    // the accepted clients of each place NAT sends them (and each address their own source NAT
    // gave them).
    type Masqueraded = Vec<(Option<Option<IpAddr>>, AddrSet)>;
    let mut answering: Vec<(Option<(IpAddr, u16)>, Masqueraded)> = Vec::new();
    for o in accepted {
        let to = o.nat.as_ref().map(|(a, p, _)| (*a, *p));
        let i = answering.iter().position(|(t, _)| *t == to).unwrap_or_else(|| {
            answering.push((to, vec![]));
            answering.len() - 1
        });
        let groups = &mut answering[i].1;
        match groups.iter_mut().find(|(s, _)| *s == o.snat) {
            Some((_, set)) => *set = set.union(&o.clients),
            None => groups.push((o.snat, o.clients.clone())),
        }
    }
    let output = HostCheck::FirewallOutput.as_str();
    let several = answering.len() > 1;
    for (n, (to, groups)) in answering.into_iter().enumerate() {
        // One check per place the replies come from: the first keeps the plain id.
        let id = if n == 0 { output.to_string() } else { format!("{output}.endpoint{}", n + 1) };
        let reply = Packet { tcp_flags: 2 | 16, ..later(r.first, to, None, true) };
        let out: Vec<Outcome> = groups
            .iter()
            .flat_map(|(snat, set)| r.cx.evaluate(&Packet { client_nat: *snat, ..reply.clone() }, set))
            .collect();
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
                Cause::blocking(
                    CauseCode::HostFirewallOutputDrop,
                    format!("{} {} {}", rule.backend.name(), rule.table, rule.chain),
                    Confidence::Confirmed,
                    message,
                )
                .with_evidence([rule.describe()])
                .with_fix([Fix::run(
                    ShellCommand::new(ipt)
                        .lit("-I")
                        .arg(way)
                        .lit("1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
                )
                .then_text(" (replies of admitted connections)")]),
            );
        }
        let undecided = undecided_lines(&out, "replies to ", describe);
        let notes = load_notes(&out);
        // With several endpoints each check says whose replies it judged (they read alike).
        let from = match to {
            Some((a, p)) if several => format!(" (from {a}:{p})"),
            None if several => " (from this host, untranslated)".to_string(),
            _ => String::new(),
        };
        let (status, summary) = match reply_causes.first() {
            Some(c) => (CheckStatus::Fail, c.message.clone()),
            None if !undecided.is_empty() => {
                (CheckStatus::Unknown, format!("Could not fully decide whether the replies of {flow}{from} leave"))
            }
            None => (CheckStatus::Pass, format!("Replies of {flow}{from} leave through {way}")),
        };
        checks.push(
            check(&id, status, summary).with_evidence(
                undecided
                    .into_iter()
                    .chain(exceptions(&out).into_iter().map(|e| format!("replies to {e}")))
                    .chain(notes.into_iter().map(|n| format!("replies: {n}"))),
            ),
        );
        causes.extend(reply_causes);
    }
    (checks, causes)
}

pub fn host_firewall(
    ev: &HostEvidence,
    q: &HostQuery,
    local: Option<IpAddr>,
    iface: Option<&str>,
    family: Family,
) -> FirewallOutcome {
    let id = HostCheck::Firewall.as_str();
    let nf: &Netfilter = match &ev.netfilter {
        Knowledge::Known(nf) => nf,
        Knowledge::Unavailable(m) => {
            let c = check(id, CheckStatus::Unknown, "Could not read the firewall rules").with_evidence([m.describe()]);
            return FirewallOutcome::undecided(c, "rules could not be read");
        }
    };
    let Some(local) = local else {
        let c = check(id, CheckStatus::Unknown, "The arrival address is unknown, so the rules cannot be walked");
        return FirewallOutcome::undecided(c, "arrival address unknown");
    };
    let internet = matches!(q.from, Source::Internet);
    let clients = portdoctor_model::addrset::clients(&q.from, family);
    // Where forwarded packets leave (a published container port's bridge), and which clients
    // route back by the arrival interface: the host's one routing lookup.
    let pkt = Packet {
        local_addrs: ev.local_addrs(),
        routes: ev.routes.known().cloned().unwrap_or_default(),
        rules: crate::routing::rules_for(ev, family).to_vec(),
        ..Packet::first(family, q.proto.number(), local, q.port, iface.map(str::to_string))
    };
    let cx = Compiled::new(nf);
    let inbound = cx.evaluate(&pkt, &clients);
    let flow = format!("{}/{}", q.proto, q.port);
    let describe = |s: &AddrSet| describe_part(s, &clients, internet);
    let mut causes = Vec::new();
    // Without neighbor discovery nothing arrives over IPv6: first in packet order.
    if family == Family::V6 {
        causes.extend(neighbor_discovery(&cx, &pkt, ev, q));
    }
    let (forwarded, delivered): (Vec<Outcome>, Vec<Outcome>) =
        inbound.iter().cloned().partition(|o| o.hook == Some(Hook::Forward));
    causes.extend(block_causes(&cx, &pkt, &delivered, q, &describe, ""));
    let forward_causes = block_causes(&cx, &pkt, &forwarded, q, &describe, "");
    let unknown: Vec<&Outcome> = inbound.iter().filter(|o| matches!(o.verdict, Verdict::Unknown(..))).collect();
    let accepted: Vec<&Outcome> = inbound.iter().filter(|o| o.verdict == Verdict::Accept).collect();
    let (after_handshake, later_notes) = after_the_handshake(&cx, &pkt, &accepted, q, &describe);
    let nats = nat_destinations(&accepted, &inbound);
    let unmodeled_matters = !nf.unmodeled.is_empty() && !accepted.is_empty();
    let blockers = [causes.as_slice(), &forward_causes, &after_handshake];
    let undecided = !unknown.is_empty() || unmodeled_matters;
    let (status, summary) = first_syn_summary(blockers, undecided, &flow, || describe(&clients));

    let mut evidence = vec![tables_walked(nf)];
    evidence.extend(undecided_lines(unknown.iter().copied(), "", &describe));
    evidence.extend(exceptions(&inbound));
    evidence.extend(nat_lines(&nats, &flow, local));
    if unmodeled_matters {
        // Each entry says what was not read, why, and how to read it.
        evidence.extend(nf.unmodeled.iter().cloned());
    }
    // A rate limit or `recent` list on the way: the answer is a probe's, and load changes it.
    let mut notes = load_notes(&inbound);
    notes.extend(later_notes.into_iter().filter(|n| !notes.contains(n)).collect::<Vec<_>>());
    let summary = if notes.is_empty() {
        summary
    } else {
        format!("{summary} (for one probe connection: under load the answer changes, see the evidence)")
    };
    evidence.extend(notes);
    let mut checks = vec![check(id, status, summary).with_evidence(evidence)];

    let (reply_checks, reply_causes) =
        replies(&Replies { cx: &cx, nf, first: &pkt, q, describe: &describe }, &accepted);
    checks.extend(reply_checks);
    causes.extend(reply_causes);
    let hop_status = checks.iter().map(|c| c.status).find(|s| *s == CheckStatus::Fail).unwrap_or(status);
    let hop = Hop::new(HostHop::HostFirewall.as_str(), "netfilter", hop_status, checks[0].summary.clone());
    let nat_undecided = undecided_nat_rules(nf, &unknown, family);
    FirewallOutcome { checks, causes, hop, nats, after_handshake, forward_causes, nat_undecided }
}

/// The inbound check's status and summary: the first blocker's message (in packet order: the
/// INPUT ones, FORWARD's, then those after the handshake), else undecided or admitted (`whom`).
fn first_syn_summary(
    blockers: [&[Cause]; 3],
    undecided: bool,
    flow: &str,
    whom: impl FnOnce() -> String,
) -> (CheckStatus, String) {
    match blockers.iter().find_map(|b| b.first()) {
        Some(c) => (CheckStatus::Fail, c.message.clone()),
        None if undecided => {
            (CheckStatus::Unknown, format!("Could not fully decide whether the host firewall admits {flow}"))
        }
        None => (CheckStatus::Pass, format!("The host firewall admits {flow} from {}", whom())),
    }
}

/// The handshake's ACK and everything after it are ESTABLISHED: a ruleset that admits NEW but
/// not ESTABLISHED lets the SYN in and loses the connection after it. Conntrack applies a
/// connection's NAT to every later packet (the nat chains see only the first), so each group of
/// `accepted` clients is walked with its own translated destination. Returns the blockers and
/// the load notes of those packets.
fn after_the_handshake(
    cx: &Compiled<'_>,
    first: &Packet,
    accepted: &[&Outcome],
    q: &HostQuery,
    describe: &dyn Fn(&AddrSet) -> String,
) -> (Vec<Cause>, Vec<String>) {
    let (mut causes, mut notes) = (Vec::new(), Vec::new());
    if q.proto != Proto::Tcp {
        return (causes, notes);
    }
    for o in accepted {
        let ack = Packet { tcp_flags: 16, ..later(first, o.nat.as_ref().map(|(a, p, _)| (*a, *p)), o.snat, false) };
        let outs = cx.evaluate(&ack, &o.clients);
        let phase = " after the handshake (the connection's ESTABLISHED packets)";
        // Groups sent to different endpoints often meet the same rule for the same clients:
        // one cause, not one per group.
        for c in block_causes(cx, &ack, &outs, q, describe, phase) {
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
        notes.extend(load_notes(&outs));
    }
    (causes, notes)
}

/// Where NAT sends the flow, also when a later hook drops it (the listener there still matters
/// for every other blocker, and the drop is already a cause): each (address, port) once, with
/// the rule that sends it there.
fn nat_destinations(accepted: &[&Outcome], inbound: &[Outcome]) -> Vec<(IpAddr, u16, String)> {
    let mut nats: Vec<(IpAddr, u16, String)> = Vec::new();
    for (a, p, r) in accepted.iter().copied().chain(inbound.iter()).filter_map(|o| o.nat.as_ref()) {
        if !nats.iter().any(|(na, np, _)| na == a && np == p) {
            nats.push((*a, *p, r.describe()));
        }
    }
    nats
}

/// The rules of a nat table among the `unknown` verdicts' (each once): where they leave the
/// walk undecided, whether they translate the flow is unknown.
fn undecided_nat_rules(nf: &Netfilter, unknown: &[&Outcome], family: Family) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for o in unknown {
        if let Verdict::Unknown(r, _) = &o.verdict
            && table_of(nf, r, family)
                .is_some_and(|t| t.chains.iter().any(|c| c.base.as_ref().is_some_and(|b| b.kind == ChainKind::Nat)))
            && !rules.contains(&r.describe())
        {
            rules.push(r.describe());
        }
    }
    rules
}

/// Which tables the walk read, as an evidence line.
fn tables_walked(nf: &Netfilter) -> String {
    let tables: Vec<String> = nf.tables.iter().map(|t| format!("{} {}", t.backend.name(), t.name)).collect();
    format!(
        "walked {} table(s): {}",
        tables.len(),
        if tables.is_empty() { "none (no rules loaded)".into() } else { tables.join(", ") }
    )
}

/// The undecided verdicts among `outs` as evidence lines: the rule, for which clients (`whose`
/// says which packets of theirs: empty for the first, `replies to `), and the match it rests on.
fn undecided_lines<'o>(
    outs: impl IntoIterator<Item = &'o Outcome>,
    whose: &str,
    describe: &dyn Fn(&AddrSet) -> String,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for o in outs {
        if let Verdict::Unknown(r, why) = &o.verdict {
            let line = format!(
                "{} — the outcome for {whose}{} depends on a match this version does not model: {why}",
                r.describe(),
                describe(&o.clients)
            );
            // The same rule undecided for the same clients on two branches of the walk: once.
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

/// Where PREROUTING NAT sends the flow to `local`, as evidence lines.
fn nat_lines(nats: &[(IpAddr, u16, String)], flow: &str, local: IpAddr) -> Vec<String> {
    let mut lines: Vec<String> =
        nats.iter().map(|(a, p, r)| format!("NAT in PREROUTING: {flow} to {local} goes to {a}:{p} ({r})")).collect();
    if nats.len() > 1 {
        // A `statistic` spread, or a match decided per client or per moment (`-m time`, …).
        lines.push(format!(
            "new connections go to one of {} endpoints, as the rules' matches decide: each is judged",
            nats.len()
        ));
    }
    lines
}
