//! What can drop the flow outside netfilter and routing: XDP programs and tc ingress filters on
//! the arrival interface (they run before netfilter; their programs cannot be evaluated, so
//! where one is attached the check is `unknown`, naming it and how to look further, never
//! `pass`), and xfrm (IPsec) policies (judged where their selectors are plain addresses,
//! protocol and ports). Interfaces other than the arrival one do not see the flow.

use crate::host_query::HostQuery;
use portdoctor_model::addrset::{AddrSet, clients, describe_part};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::host::{HostEvidence, Xfrm, XfrmDir, XfrmPolicy};
use portdoctor_model::host_path::HostCheck;
use portdoctor_model::net::{Family, Source};
use portdoctor_model::{Cause, CauseCode, Check, CheckStatus, Confidence, EvidenceSource, Knowledge};
use std::net::IpAddr;

use crate::host_query::host_check as check;

/// A command for a person to run, with an interface name from the evidence quoted (or the
/// command withheld, saying why).
fn command(cmd: ShellCommand) -> String {
    Fix::run(cmd).to_string()
}

/// How to watch the kernel drop the flow, whatever layer does it.
fn trace_hint(q: &HostQuery) -> String {
    format!(
        "to see whether it drops this flow: `portdoctor trace --port {} --proto {}` while a client connects",
        q.port, q.proto
    )
}

/// Said of a source newer snapshots hold when the evidence does not have it at all.
fn not_collected(from: &EvidenceSource) -> String {
    format!(
        "{from} is not in the evidence (a snapshot taken by an older portdoctor): take a new one with `portdoctor snapshot host`"
    )
}

/// XDP programs on the arrival interface.
pub fn xdp(ev: &HostEvidence, q: &HostQuery, ingress: Option<&str>) -> Check {
    let id = HostCheck::Xdp.as_str();
    let Some(ifs) = ev.interfaces.known() else {
        let m = ev.interfaces.missing().map(|m| m.describe()).unwrap_or_default();
        return check(id, CheckStatus::Unknown, "Could not read the interfaces' XDP programs").with_evidence([m]);
    };
    let with: Vec<_> = ifs.iter().filter(|i| !i.xdp.is_empty()).collect();
    let Some(ingress) = ingress else {
        if with.is_empty() {
            return check(id, CheckStatus::Pass, "No interface has an XDP program attached")
                .with_evidence([format!("no `xdp` on any link ({})", ev.interfaces.from)]);
        }
        let names: Vec<&str> = with.iter().map(|i| i.name.as_str()).collect();
        return check(
            id,
            CheckStatus::Unknown,
            format!("XDP programs are attached to {} and the arrival interface is unknown", names.join(", ")),
        )
        .with_evidence(["pass --to ADDR to say where the traffic arrives".to_string()]);
    };
    let Some(iface) = with.iter().find(|i| i.name == ingress) else {
        let mut ev_lines = vec![format!("no XDP program on {ingress} ({})", ev.interfaces.from)];
        if !with.is_empty() {
            let names: Vec<&str> = with.iter().map(|i| i.name.as_str()).collect();
            ev_lines.push(format!("XDP programs on {} do not see traffic arriving on {ingress}", names.join(", ")));
        }
        return check(id, CheckStatus::Pass, format!("No XDP program on {ingress}")).with_evidence(ev_lines);
    };
    let progs: Vec<String> = iface.xdp.iter().map(|p| p.describe()).collect();
    let mut lines: Vec<String> = iface
        .xdp
        .iter()
        .map(|p| format!("XDP program {} attached to {ingress} ({})", p.describe(), ev.interfaces.from))
        .collect();
    for p in &iface.xdp {
        if let Some(pid) = p.id {
            lines.push(format!(
                "to read what it does: {} and {}",
                command(ShellCommand::new("bpftool prog show id").arg(pid)),
                command(ShellCommand::new("bpftool prog dump xlated id").arg(pid))
            ));
        }
    }
    lines.push(format!("to see it on the link: {}", command(ShellCommand::new("bpftool net show dev").arg(ingress))));
    lines.push(trace_hint(q));
    check(
        id,
        CheckStatus::Unknown,
        format!(
            "XDP program {} on {ingress} sees every packet before the firewall and may drop this flow; portdoctor cannot evaluate it",
            progs.join(", ")
        ),
    )
    .with_evidence(lines)
}

/// tc ingress filters on the arrival interface.
pub fn tc_ingress(ev: &HostEvidence, q: &HostQuery, ingress: Option<&str>) -> Check {
    let id = HostCheck::TcIngress.as_str();
    let from = &ev.tc_ingress.from;
    let tc = match &ev.tc_ingress.fact {
        None => {
            return check(id, CheckStatus::Skipped, "tc ingress filters were not collected")
                .with_evidence([not_collected(from)]);
        }
        Some(Knowledge::Unavailable(m)) => {
            return check(
                id,
                CheckStatus::Unknown,
                "Could not read the tc ingress filters, which can drop the flow before the firewall",
            )
            .with_evidence([m.describe()]);
        }
        Some(Knowledge::Known(tc)) => tc,
    };
    let Some(ingress) = ingress else {
        if tc.filters.is_empty() {
            return check(id, CheckStatus::Pass, "No interface has a tc ingress filter")
                .with_evidence([format!("no ingress filters ({from})")]);
        }
        let mut devs: Vec<&str> = tc.filters.iter().map(|f| f.dev.as_str()).collect();
        devs.dedup();
        return check(
            id,
            CheckStatus::Unknown,
            format!("tc ingress filters are attached to {} and the arrival interface is unknown", devs.join(", ")),
        )
        .with_evidence(["pass --to ADDR to say where the traffic arrives".to_string()]);
    };
    let here: Vec<_> = tc.filters.iter().filter(|f| f.dev == ingress).collect();
    if here.is_empty() {
        let mut lines = vec![if tc.devices.iter().any(|d| d == ingress) {
            format!("{ingress} has an ingress qdisc without filters ({from})")
        } else {
            format!("no ingress or clsact qdisc on {ingress} ({from})")
        }];
        let mut others: Vec<&str> = tc.filters.iter().map(|f| f.dev.as_str()).collect();
        others.dedup();
        if !others.is_empty() {
            lines.push(format!("tc ingress filters on {} do not see traffic arriving on {ingress}", others.join(", ")));
        }
        return check(id, CheckStatus::Pass, format!("No tc ingress filter on {ingress}")).with_evidence(lines);
    }
    let mut lines: Vec<String> =
        here.iter().map(|f| format!("tc filter on {ingress} ingress: {} ({from})", f.text)).collect();
    lines.push(format!(
        "to see what they match and how often they act: {}",
        command(ShellCommand::new("tc -s filter show dev").arg(ingress).lit("ingress"))
    ));
    if here.iter().any(|f| f.text.contains(" id ")) {
        lines.push("a BPF filter's program: `bpftool prog dump xlated id ID` (the id above)".to_string());
    }
    lines.push(trace_hint(q));
    check(
        id,
        CheckStatus::Unknown,
        format!(
            "{} tc ingress filter{} on {ingress} run{} before the firewall and may drop this flow; portdoctor cannot evaluate them",
            here.len(),
            if here.len() == 1 { "" } else { "s" },
            if here.len() == 1 { "s" } else { "" }
        ),
    )
    .with_evidence(lines)
}

/// `ip xfrm policy delete dir in src … dst … proto 6 dport 80`: the selector that names the
/// policy.
fn delete_policy(p: &XfrmPolicy) -> ShellCommand {
    let dir = p.dir.as_str();
    let mut cmd = ShellCommand::new("ip xfrm policy delete dir").arg(dir).lit("src").arg(p.src).lit("dst").arg(p.dst);
    if let Some(proto) = p.proto {
        cmd = cmd.lit("proto").arg(proto);
        if let Some(sp) = p.sport {
            cmd = cmd.lit("sport").arg(sp);
        }
        if let Some(dp) = p.dport {
            cmd = cmd.lit("dport").arg(dp);
        }
    }
    cmd
}

/// What one policy does to the part of the clients it selects.
enum Effect<'a> {
    Block(&'a XfrmPolicy),
    /// Requires IPsec (in) or sends the replies into IPsec (out): plain internet clients fail.
    Ipsec(&'a XfrmPolicy),
    /// It may or may not select the flow (a selector not modelled).
    Unknown(&'a XfrmPolicy),
    DefaultBlock(XfrmDir),
}

/// xfrm (IPsec) policies on the flow: `dir in` for the client's packet delivered here, `dir
/// out` for the reply. What each policy does to which clients is decided (`xfrm_effects`),
/// then said (`explain_effect`, with the fix in `ip xfrm`), then assembled into the check.
pub fn xfrm(ev: &HostEvidence, q: &HostQuery, local: Option<IpAddr>, family: Family) -> (Check, Vec<Cause>) {
    let id = HostCheck::Xfrm.as_str();
    let from = &ev.xfrm.from;
    let x = match &ev.xfrm.fact {
        None => {
            return (
                check(id, CheckStatus::Skipped, "xfrm (IPsec) policies were not collected")
                    .with_evidence([not_collected(from)]),
                vec![],
            );
        }
        Some(Knowledge::Unavailable(m)) => {
            return (
                check(id, CheckStatus::Unknown, "Could not read the xfrm (IPsec) policies, which can drop the flow")
                    .with_evidence([m.describe()]),
                vec![],
            );
        }
        Some(Knowledge::Known(x)) => x,
    };
    let Some(local) = local else {
        return (check(id, CheckStatus::Unknown, "The arrival address is unknown"), vec![]);
    };
    let whole = clients(&q.from, family);
    let internet = matches!(q.from, Source::Internet);
    let flow = XfrmFlow { q, local, proto: q.proto.number(), name: format!("{}/{}", q.proto, q.port) };
    let mut causes = Vec::new();
    let mut unknown = Vec::new();
    for (effect, part) in &xfrm_effects(x, &flow, &whole) {
        let whom = describe_part(part, &whole, internet);
        match explain_effect(effect, &flow, &whom, x, from) {
            Explained::Cause(cause) => causes.push(cause),
            Explained::Unknown(line) => unknown.push(line),
        }
    }
    let mut evidence = vec![format!("{} xfrm policies read ({from})", x.policies.len())];
    if x.default_block.is_none() {
        evidence.push(format!(
            "the default policies could not be read ({}): accept assumed, the kernel's default",
            x.defaults_from
        ));
    }
    let flow = flow.name;
    if let Some(c) = causes.first() {
        let summary = c.message.clone();
        let lines = causes.iter().flat_map(|c| c.evidence.clone());
        return (
            check(id, CheckStatus::Fail, summary).with_evidence(evidence.into_iter().chain(lines).chain(unknown)),
            causes,
        );
    }
    if !unknown.is_empty() {
        unknown.push(trace_hint(q));
        return (
            check(
                id,
                CheckStatus::Unknown,
                format!("An xfrm (IPsec) policy may select {flow}, by a selector portdoctor cannot evaluate"),
            )
            .with_evidence(evidence.into_iter().chain(unknown)),
            vec![],
        );
    }
    (
        check(id, CheckStatus::Pass, format!("No xfrm (IPsec) policy blocks {flow} or requires IPsec for it"))
            .with_evidence(evidence),
        vec![],
    )
}

/// The flow the xfrm policies are asked about.
struct XfrmFlow<'q> {
    q: &'q HostQuery,
    local: IpAddr,
    /// Its IP protocol number.
    proto: u8,
    /// `tcp/443`, for messages.
    name: String,
}

/// Decides what the policies do to which clients: in each direction the policies that select
/// the flow are taken in priority order (lowest first; the first decides:
/// xfrm_policy_lookup_bytype), per part of the clients; what none selects meets the direction's
/// default. A policy that allows in the clear has no effect.
fn xfrm_effects<'a>(x: &'a Xfrm, flow: &XfrmFlow<'_>, whole: &AddrSet) -> Vec<(Effect<'a>, AddrSet)> {
    let family = whole.family();
    let mut effects = Vec::new();
    for dir in [XfrmDir::In, XfrmDir::Out] {
        let mut policies: Vec<&XfrmPolicy> =
            x.policies.iter().filter(|p| p.dir == dir && p.dst.family() == family).collect();
        policies.sort_by_key(|p| p.priority);
        let mut rest = whole.clone();
        for p in policies {
            // In: from the client to this host's port; out: the reverse.
            let (local_sel, client_sel, local_port, client_port) = match dir {
                XfrmDir::In => (p.dst, p.src, p.dport, p.sport),
                _ => (p.src, p.dst, p.sport, p.dport),
            };
            if !local_sel.contains(&flow.local) || p.proto.is_some_and(|x| x != flow.proto) {
                continue;
            }
            if p.proto.is_some() && local_port.is_some_and(|lp| lp != flow.q.port) {
                continue;
            }
            let hit = rest.intersect(&AddrSet::from_cidr(&client_sel));
            if hit.is_empty() {
                continue;
            }
            rest = rest.minus(&hit);
            let effect = if !p.unmodeled.is_empty() || (p.proto.is_some() && client_port.is_some()) {
                // Selects by something the flow's description does not carry (a mark, an
                // interface, the client's own port): it may or may not apply.
                Effect::Unknown(p)
            } else if p.block {
                Effect::Block(p)
            } else if p.templates.iter().any(|(_, optional)| !optional) {
                Effect::Ipsec(p)
            } else {
                continue; // allowed in the clear
            };
            effects.push((effect, hit));
        }
        if !rest.is_empty() && x.default_block.as_ref().is_some_and(|d| d.contains(&dir)) {
            effects.push((Effect::DefaultBlock(dir), rest));
        }
    }
    effects
}

/// One effect in words: a cause with its evidence and fix, or a policy that may apply.
enum Explained {
    Cause(Cause),
    Unknown(String),
}

/// Says what `effect` does to `whom`, and how to undo it.
fn explain_effect(effect: &Effect<'_>, flow: &XfrmFlow<'_>, whom: &str, x: &Xfrm, from: &EvidenceSource) -> Explained {
    let name = &flow.name;
    // `line`: the policy as the evidence shows it, read from `source`.
    let (message, confidence, line, source, fix) = match effect {
        Effect::Block(p) => (
            format!(
                "An xfrm (IPsec) policy blocks {name} {} {whom} (dir {}, action block)",
                if p.dir == XfrmDir::In { "from" } else { "replies to" },
                p.dir.as_str()
            ),
            Confidence::Confirmed,
            p.text.clone(),
            from,
            vec![Fix::run(delete_policy(p)).then_text(" (and remove it from the IPsec configuration that adds it)")],
        ),
        Effect::Ipsec(p) => (
            format!(
                "An xfrm (IPsec) policy {} for {name} with {whom}: clients that do not speak IPsec to this host fail",
                if p.dir == XfrmDir::In {
                    "requires IPsec on the traffic"
                } else {
                    "sends the replies into an IPsec tunnel"
                }
            ),
            Confidence::Likely,
            p.text.clone(),
            from,
            exempt_fixes(p, flow),
        ),
        Effect::DefaultBlock(dir) => (
            format!(
                "The xfrm default policy for dir {} is block, and no xfrm policy selects {name} {} {whom}",
                dir.as_str(),
                if *dir == XfrmDir::In { "from" } else { "replies to" }
            ),
            Confidence::Confirmed,
            format!("Default policies: {}: block", dir.as_str()),
            &x.defaults_from,
            vec![Fix::run(ShellCommand::new("ip xfrm policy setdefault").arg(dir.as_str()).lit("accept"))],
        ),
        Effect::Unknown(p) => {
            return Explained::Unknown(format!(
                "xfrm policy `{}` may select {name} with {whom}: it also selects by {}, which this version does not evaluate ({from})",
                p.text,
                if p.unmodeled.is_empty() { "the client's port".to_string() } else { p.unmodeled.join(", ") }
            ));
        }
    };
    Explained::Cause(
        Cause::blocking(CauseCode::XfrmPolicyBlock, format!("xfrm policy {}", line), confidence, message)
            .with_evidence([format!("{line} ({source})"), format!("selects {whom}")])
            .with_fix(fix),
    )
}

/// For a policy that requires IPsec: exempt the port with a clear-text policy that wins, or
/// remove the policy.
fn exempt_fixes(p: &XfrmPolicy, flow: &XfrmFlow<'_>) -> Vec<Fix> {
    let local = portdoctor_model::net::Cidr::host(flow.local);
    vec![
        Fix::text("exempt the port from IPsec with a policy of a lower priority number and no template, e.g. ")
            .then_run(
                ShellCommand::new("ip xfrm policy add dir")
                    .arg(p.dir.as_str())
                    .lit("src")
                    .arg(if p.dir == XfrmDir::In { p.src } else { local })
                    .lit("dst")
                    .arg(if p.dir == XfrmDir::In { local } else { p.dst })
                    .lit("proto")
                    .arg(flow.proto)
                    .lit(if p.dir == XfrmDir::In { "dport" } else { "sport" })
                    .arg(flow.q.port)
                    .lit("priority")
                    .arg(p.priority.saturating_sub(1)),
            ),
        Fix::text("or remove the policy: ").then_run(delete_policy(p)),
    ]
}
