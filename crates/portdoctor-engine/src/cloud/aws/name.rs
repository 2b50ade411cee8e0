//! The name the user typed (`diagnose NAME:PORT`): the addresses it resolved to, compared with
//! the addresses the configuration gives the target. A name pointing at an address nobody here
//! holds is stale DNS — the classic stop/start of an instance without an Elastic IP, whose
//! auto-assigned public IPv4 changes (AWS EC2 User Guide, "Public IPv4 addresses": "We release
//! your instance's public IP address when it is stopped").
//!
//! The name also says what the walk is about: the instance holding the addresses it resolves
//! to, and the families its clients use (a name with only an A record is asked about IPv4).
//!
//! # For the load-balancer path (issue 15)
//!
//! [`configured_addresses`] is the one place that says which addresses a target should have:
//! for a balancer, its per-AZ addresses (`AwsIndex::load_balancer_addresses`). [`name_target`]
//! is where a name that is a balancer's DNS name, or resolves to its addresses, becomes
//! `CloudTarget::LoadBalancer`.

use super::edge::confirmed;
use super::index::{AwsIndex, list};
use crate::cloud::path::internet;
use crate::cloud::{CloudQuery, CloudTarget, ResolvedName};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Family;
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Layer};
use std::net::IpAddr;

/// The check that compares the name with the configuration.
pub const CHECK_ID: &str = "path.dns";

/// A name judged: the query the walk is about, and what the name itself says.
pub struct NameJudged {
    pub query: CloudQuery,
    pub checks: Vec<Check>,
    pub causes: Vec<Cause>,
}

/// The public addresses (IPv4, Elastic IPs, IPv6) the configuration gives `target`, sorted,
/// IPv4 first: for an instance, those of every one of its interfaces; for a public address,
/// those of the instance holding it (or of the interface, when no instance is behind it);
/// none when nobody here holds it.
pub fn configured_addresses(idx: &AwsIndex<'_>, target: &CloudTarget) -> Vec<IpAddr> {
    let instance = match target {
        CloudTarget::Instance(i) => Some(i.as_str()),
        CloudTarget::PublicIp(ip) => match idx.eni_by_public.get(ip) {
            Some((eni, _)) => match eni.instance_id.as_deref() {
                Some(i) => Some(i),
                None => return held_by(idx, |e| e == eni.id.as_str(), None),
            },
            None => None,
        },
        CloudTarget::LoadBalancer(asked) => {
            return idx.find_load_balancer(asked).map(|lb| idx.load_balancer_addresses(lb)).unwrap_or_default();
        }
    };
    match instance {
        Some(i) => held_by(idx, |_| false, Some(i)),
        None => Vec::new(),
    }
}

/// Every public address mapped onto an interface `eni(id)` accepts or of instance `instance`.
fn held_by(idx: &AwsIndex<'_>, eni: impl Fn(&str) -> bool, instance: Option<&str>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = idx
        .eni_by_public
        .iter()
        .filter(|(_, (e, _))| eni(&e.id) || (instance.is_some() && e.instance_id.as_deref() == instance))
        .map(|(a, _)| *a)
        .collect();
    out.sort_unstable();
    out
}

/// What the name stands for: the instance the user named; else the instance (or interface)
/// holding one of the addresses it resolves to; else the address the caller chose.
pub fn name_target(idx: &AwsIndex<'_>, q: &CloudQuery, n: &ResolvedName) -> CloudTarget {
    if matches!(q.target, CloudTarget::Instance(_) | CloudTarget::LoadBalancer(_)) {
        return q.target.clone();
    }
    // A balancer's DNS name (a CNAME to it resolves to its addresses) stands for the balancer.
    if let Some(lb) = idx.find_load_balancer(&n.name).or_else(|| idx.load_balancer_holding(&n.addresses)) {
        return CloudTarget::LoadBalancer(lb.name().to_string());
    }
    let held = n.addresses.iter().find_map(|a| idx.eni_by_public.get(a).map(|(e, _)| (*a, e)));
    match held {
        Some((_, e)) if e.instance_id.is_some() => CloudTarget::Instance(e.instance_id.clone().unwrap_or_default()),
        Some((a, _)) => CloudTarget::PublicIp(a),
        None => q.target.clone(),
    }
}

/// Judges the name: which target and families the walk is about, and whether the record is
/// stale (a cause per family of stale addresses) or agrees with the configuration.
pub fn judge(idx: &AwsIndex<'_>, q: &CloudQuery, n: &ResolvedName) -> NameJudged {
    let target = name_target(idx, q, n);
    let public: Vec<IpAddr> = n.addresses.iter().copied().filter(|a| internet(Family::of(a)).contains(a)).collect();
    // The families its clients use, unless the user pinned one (or the target pins its own).
    let mut families: Vec<Family> = public.iter().map(Family::of).collect();
    families.sort_unstable();
    families.dedup();
    let family = q.family.or(match families.as_slice() {
        [one] => Some(*one),
        _ => None,
    });
    let query = CloudQuery { target, family, ..q.clone() };
    let mut out = NameJudged { query, checks: Vec::new(), causes: Vec::new() };
    if public.is_empty() {
        // A private or reserved answer: the edge says so (TARGET_ADDRESS_PRIVATE).
        return out;
    }
    let configured = configured_addresses(idx, &out.query.target);
    let owner = match &out.query.target {
        CloudTarget::Instance(i) => i.clone(),
        CloudTarget::PublicIp(ip) => idx.eni_by_public.get(ip).map_or_else(|| ip.to_string(), |(e, _)| e.id.clone()),
        CloudTarget::LoadBalancer(asked) => asked.clone(),
    };
    let words = |a: &[IpAddr]| a.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
    let mut evidence = vec![format!("{} resolves to {} ({})", n.name, words(&n.addresses), n.source)];
    let stale: Vec<IpAddr> = public.iter().copied().filter(|a| !configured.contains(a)).collect();
    if !configured.is_empty() {
        evidence.push(format!("{owner} holds {} (NetworkInterfaces, Addresses)", words(&configured)));
    }
    let unlisted: Vec<IpAddr> = configured.iter().copied().filter(|a| !n.addresses.contains(a)).collect();
    if !unlisted.is_empty() && stale.is_empty() {
        evidence.push(format!("{} is not among the name's addresses: no client reaches it by name", words(&unlisted)));
    }
    let check = |status, summary: String, evidence: Vec<String>| {
        Check::new(CHECK_ID, Layer::Path, CheckKind::Path, status, summary).with_evidence(evidence)
    };
    if stale.is_empty() {
        let summary = format!("{} resolves to {}, held by {owner}", n.name, words(&public));
        out.checks.push(check(CheckStatus::Pass, summary, evidence));
        return out;
    }
    evidence.push(format!("no interface here holds {} (NetworkInterfaces, Addresses)", words(&stale)));
    let confidence = if configured.is_empty() { Confidence::Likely } else { Confidence::Confirmed };
    let stale_in = |f: Option<Family>| -> Vec<IpAddr> {
        stale.iter().copied().filter(|a| f.is_none_or(|f| Family::of(a) == f)).collect()
    };
    let msg = |stale: &[IpAddr]| {
        if configured.is_empty() {
            format!(
                "{} resolves to {}, which no interface in this account and region holds: its DNS record is stale (or points at another account)",
                n.name,
                words(stale)
            )
        } else {
            format!(
                "{} resolves to {}, which {owner} no longer holds: its DNS record is stale ({owner} is at {})",
                n.name,
                words(stale),
                words(&configured)
            )
        }
    };
    out.checks.push(check(CheckStatus::Fail, msg(&stale), evidence.clone()));
    // The name's clients use each family it has: with two, a stale record fails one family's
    // clients, so each family's cause carries it (as the walk's per-family causes do).
    let per_family: Vec<Option<Family>> =
        if families.len() > 1 { families.iter().copied().map(Some).collect() } else { vec![None] };
    for f in per_family {
        let mine = stale_in(f);
        if mine.is_empty() {
            continue;
        }
        let fix = stale_fix(idx, &n.name, &mine, &configured, &owner);
        let cause = Cause { confidence, ..confirmed(CauseCode::DnsStale, &n.name, msg(&mine), evidence.clone(), fix) };
        out.causes.push(match f {
            Some(f) => Cause { message: crate::family::prefixed(f, &cause.message), family: Some(f), ..cause },
            None => cause,
        });
    }
    out
}

/// The record to fix: each stale family's record pointed at the address the target holds in
/// that family (Route 53's command when the zone is there), and an Elastic IP so the address
/// survives the next stop/start.
fn stale_fix(idx: &AwsIndex<'_>, name: &str, stale: &[IpAddr], configured: &[IpAddr], owner: &str) -> Vec<Fix> {
    let mut fix = Vec::new();
    let mut families: Vec<Family> = stale.iter().map(Family::of).collect();
    families.dedup();
    for f in families {
        let kind = if f == Family::V6 { "AAAA" } else { "A" };
        let now: Vec<String> = configured.iter().filter(|a| Family::of(a) == f).map(IpAddr::to_string).collect();
        if now.is_empty() {
            fix.push(Fix::text(format!("Remove the {kind} record of {name}, or point it at an address {owner} holds")));
            continue;
        }
        let records = now.iter().map(|a| format!(r#"{{"Value":"{a}"}}"#)).collect::<Vec<_>>().join(",");
        let batch = format!(
            r#"{{"Changes":[{{"Action":"UPSERT","ResourceRecordSet":{{"Name":{},"Type":"{kind}","TTL":300,"ResourceRecords":[{records}]}}}}]}}"#,
            json_string(name)
        );
        let route53 = ShellCommand::new("aws route53 change-resource-record-sets --hosted-zone-id <Z…> --change-batch");
        fix.push(
            Fix::text(format!("Point the {kind} record of {name} at {}; in Route 53: ", now.join(", ")))
                .then_run(route53.arg(batch)),
        );
    }
    let eip = |a: &IpAddr| list(&idx.ev.addresses).iter().any(|e| e.public_ip == *a);
    let v4_not_elastic = configured.iter().any(|a| a.is_ipv4() && !eip(a));
    if v4_not_elastic && owner.starts_with("i-") {
        // Without an Elastic IP the address changes at every stop/start: the record goes stale again.
        fix.push(Fix::run(ShellCommand::new("aws ec2 allocate-address --domain vpc")));
        fix.push(Fix::run(
            ShellCommand::new("aws ec2 associate-address --allocation-id <eipalloc-…> --instance-id").arg(owner),
        ));
    }
    fix
}

/// A JSON string literal (the name is the user's input: quotes and controls escaped).
fn json_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
