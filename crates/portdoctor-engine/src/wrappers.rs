//! TCP wrappers (hosts_access(5)), only for a daemon that links libwrap: the first matching
//! hosts.allow rule grants, else the first matching hosts.deny rule refuses, else access is
//! granted. Clients are address sets, so "allows only the office" is computed, not guessed.
//! Most daemons today do not link libwrap (OpenSSH dropped it in 6.7): for them the files are
//! said not to apply.

use portdoctor_model::addrset::{AddrSet, describe_part};
use portdoctor_model::fix::Fix;
use portdoctor_model::host::{HostEvidence, Socket, WrapClient, WrapRule};
use portdoctor_model::host_path::HostCheck;
use portdoctor_model::net::Family;
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Knowledge, Layer};

fn check(status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(HostCheck::TcpWrappers.as_str(), Layer::Host, CheckKind::Path, status, summary)
}

/// A client pattern as an address set of `family`; `None` for the ones that need names, which
/// are not modelled.
fn client_set(p: &WrapClient, family: Family) -> Option<AddrSet> {
    match p {
        WrapClient::All => {
            Some(AddrSet::from_range(family, 0, if family == Family::V4 { u128::from(u32::MAX) } else { u128::MAX }))
        }
        WrapClient::Net(c) if c.family() == family => Some(AddrSet::from_cidr(c)),
        WrapClient::Net(_) => Some(AddrSet::empty(family)),
        WrapClient::Named(_) => None,
    }
}

fn names_daemon(r: &WrapRule, daemon: &str) -> bool {
    let hit = |list: &[String]| list.iter().any(|d| d == "ALL" || d == daemon);
    hit(&r.daemons) && !r.daemons_except.iter().any(|d| d == daemon)
}

/// A pattern as written, for a client the walk cannot model.
fn pattern(p: &WrapClient) -> String {
    match p {
        WrapClient::Named(n) => n.clone(),
        WrapClient::All => "ALL".into(),
        WrapClient::Net(c) => c.to_string(),
    }
}

/// The rule's clients, or the pattern that cannot be modelled.
fn clients(r: &WrapRule, family: Family) -> Result<AddrSet, String> {
    let mut set = AddrSet::empty(family);
    for p in &r.clients {
        set = set.union(&client_set(p, family).ok_or_else(|| pattern(p))?);
    }
    for p in &r.clients_except {
        set = set.minus(&client_set(p, family).ok_or_else(|| pattern(p))?);
    }
    Ok(set)
}

pub fn judge(ev: &HostEvidence, answerer: &Socket, sources: &AddrSet, internet: bool) -> (Check, Option<Cause>) {
    let w = match &ev.tcp_wrappers {
        Knowledge::Unavailable(m) => {
            let mut c = check(CheckStatus::Skipped, "TCP wrappers not in the evidence");
            c.evidence.push(m.describe());
            return (c, None);
        }
        Knowledge::Known(w) => w,
    };
    let Some(procs) = answerer.owners.known() else {
        return (
            check(CheckStatus::Skipped, "The listening process is unknown, so whether it uses TCP wrappers is too"),
            None,
        );
    };
    let Some(daemon) = procs.first().map(|p| p.name.clone()) else {
        return (check(CheckStatus::Skipped, "No process owns the socket here"), None);
    };
    let rules_for: Vec<&WrapRule> = w.allow.iter().chain(&w.deny).filter(|r| names_daemon(r, &daemon)).collect();
    let linked = match &w.libwrap_pids {
        Knowledge::Known(pids) => procs.iter().any(|p| pids.contains(&p.pid)),
        Knowledge::Unavailable(m) => {
            let status = if rules_for.is_empty() { CheckStatus::Skipped } else { CheckStatus::Unknown };
            return (
                check(status, format!("Whether {daemon} links libwrap is unknown")).with_evidence([m.describe()]),
                None,
            );
        }
    };
    if !linked {
        let mut c = check(
            CheckStatus::Pass,
            format!("{daemon} does not link libwrap: hosts.allow and hosts.deny do not apply to it"),
        );
        c.evidence.extend(rules_for.iter().map(|r| format!("{} {} (ignored by {daemon})", r.at, r.text)));
        return (c, None);
    }
    let family = sources.family();
    let mut remaining = sources.clone();
    let mut evidence = Vec::new();
    let mut denied: Option<(AddrSet, &WrapRule)> = None;
    for (list, allow) in [(&w.allow, true), (&w.deny, false)] {
        for r in list.iter().filter(|r| names_daemon(r, &daemon)) {
            if remaining.is_empty() {
                break;
            }
            let set = match clients(r, family) {
                Ok(s) => s,
                Err(p) => {
                    let c = check(
                        CheckStatus::Unknown,
                        format!("{} matches clients by name ({p}), which portdoctor does not resolve", r.at),
                    )
                    .with_evidence([format!("{} {}", r.at, r.text)]);
                    return (c, None);
                }
            };
            let hit = remaining.intersect(&set);
            if hit.is_empty() {
                continue;
            }
            evidence.push(format!(
                "{} {}: {} {}",
                r.at,
                r.text,
                if allow { "grants" } else { "refuses" },
                describe_part(&hit, sources, internet)
            ));
            if !allow && denied.is_none() {
                denied = Some((hit.clone(), r));
            } else if let Some((d, _)) = denied.as_mut().filter(|_| !allow) {
                *d = d.union(&hit);
            }
            remaining = remaining.minus(&hit);
        }
    }
    match denied {
        None => (
            check(CheckStatus::Pass, format!("TCP wrappers let {daemon} accept these clients")).with_evidence(evidence),
            None,
        ),
        Some((set, rule)) => {
            let who = describe_part(&set, sources, internet);
            let msg = format!(
                "TCP wrappers make {daemon} refuse {who}: the connection is accepted, then closed at once ({})",
                rule.at
            );
            // A line of a configuration file, not a command.
            let fix = vec![Fix::text(format!(
                "add a rule before it to /etc/hosts.allow, e.g.: {daemon}: ALL   (or the client prefixes that should connect)"
            ))];
            let cause = Cause::blocking(CauseCode::TcpWrappersDeny, &daemon, Confidence::Confirmed, msg.clone())
                .with_evidence(evidence.clone())
                .with_fix(fix);
            (check(CheckStatus::Fail, msg).with_evidence(evidence), Some(cause))
        }
    }
}
