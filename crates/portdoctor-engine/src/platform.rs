//! The platform layer: what the provider says about the resource, joined to the network verdict.
//!
//! - Abuse notices (AWS Health events of service ABUSE, tied to the resource through their
//!   affected entities; Support cases about abuse) → `ABUSE_BLOCK`, with a confidence that follows
//!   how directly the notice names the resource: an entity marked IMPAIRED is AWS saying it acted
//!   (confirmed); a notice naming the instance, interface or address is likely; a notice for the
//!   account that names nothing, or a compromise seen while the notices could not be read, is
//!   possible.
//! - Compromise (GuardDuty findings showing the instance attacking others) →
//!   `INSTANCE_COMPROMISED`, non-blocking: it explains an abuse block, it does not block by itself.
//!   Without an abuse cause to explain, it is a `warn` check (CONTRACT.md §3: causes are `[]` when
//!   reachable).
//! - Changes (CloudTrail management events on the path's resources within the window) → the
//!   report's timeline, newest first, and `introduced_by` on the causes a change explains.
//!
//! Every check here is context (CONTRACT.md §2): a notice that cannot be read never makes the
//! verdict inconclusive by itself.

use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::platform::{
    ChangedPorts, Finding, HealthEvent, PlatformEvidence, Signal, SupportCase, TrailEvent,
};
use portdoctor_model::time::Timestamp;
use portdoctor_model::{Cause, CauseCode, Check, CheckKind, CheckStatus, Confidence, Hop, Layer, Proto, TimelineEntry};

/// How far back to look for changes, and from when ("now" for live evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeWindow {
    /// Live runs: the clock. Snapshots: `None`, and the snapshot's own stamp (or its newest
    /// event) stands in, so a saved case reads the same next year.
    pub now: Option<Timestamp>,
    pub since: Since,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Seconds before the reference time.
    Ago(i64),
    At(Timestamp),
}

impl Default for ChangeWindow {
    fn default() -> Self {
        ChangeWindow { now: None, since: Since::Ago(14 * 86_400) }
    }
}

/// What the platform layer is asked about: the instance, its interfaces and addresses, and the
/// resources on the packet's path (gateway, route table, ACL, groups, Elastic IP allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub instance: Option<String>,
    pub interfaces: Vec<String>,
    pub addresses: Vec<String>,
    pub resources: Vec<String>,
}

impl Subject {
    /// Adds what `other` names (a second family's walk of the same target), each id once.
    pub fn absorb(&mut self, other: Subject) {
        if self.instance.is_none() {
            self.instance = other.instance;
        }
        for (mine, theirs) in [
            (&mut self.interfaces, other.interfaces),
            (&mut self.addresses, other.addresses),
            (&mut self.resources, other.resources),
        ] {
            for id in theirs {
                if !mine.contains(&id) {
                    mine.push(id);
                }
            }
        }
    }

    fn ids(&self) -> impl Iterator<Item = &str> {
        self.instance.iter().chain(&self.interfaces).chain(&self.addresses).chain(&self.resources).map(String::as_str)
    }

    /// The id this value names, if any: equal, or the last part of an ARN (`…:instance/i-1`).
    fn named_by(&self, value: &str) -> Option<&str> {
        let tail = value.rsplit(['/', ':']).next().unwrap_or(value);
        self.instance
            .iter()
            .chain(&self.interfaces)
            .chain(&self.addresses)
            .map(String::as_str)
            .find(|id| *id == value || *id == tail)
    }

    /// The instance, interface or address a free text mentions (a support case), as a whole
    /// token: 203.0.113.1 must not match inside 203.0.113.10.
    fn mentioned_in(&self, text: &str) -> Option<&str> {
        let part_of_token = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        self.instance.iter().chain(&self.interfaces).chain(&self.addresses).map(String::as_str).find(|id| {
            text.match_indices(id).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let rest = &text[i + id.len()..];
                // A sentence's full stop after the id is fine; "…113.10" after "…113.1" is not.
                let after_ok = match rest.chars().next() {
                    Some('.') => !rest[1..].starts_with(|c: char| c.is_ascii_alphanumeric()),
                    Some(c) => !part_of_token(c),
                    None => true,
                };
                !before.is_some_and(part_of_token) && after_ok
            })
        })
    }

    fn who(&self) -> String {
        match (&self.instance, self.addresses.first()) {
            (Some(i), Some(a)) => format!("{i} ({a})"),
            (Some(i), None) => i.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => "the target".into(),
        }
    }
}

/// The platform layer's part of a diagnosis.
#[derive(Debug, Default)]
pub struct PlatformJudgement {
    pub causes: Vec<Cause>,
    pub checks: Vec<Check>,
    pub hop: Option<Hop>,
    pub timeline: Vec<TimelineEntry>,
    pub notes: Vec<String>,
    /// Mutating events on the path within the window, newest first (for `introduced_by`).
    changes: Vec<TrailEvent>,
}

fn check(id: &str, status: CheckStatus, summary: impl Into<String>) -> Check {
    Check::new(id, Layer::Platform, CheckKind::Context, status, summary)
}

fn absent(id: &str, what: &str, key: &str, command: &str) -> Check {
    check(id, CheckStatus::Skipped, format!("{what}: not in the evidence"))
        .with_evidence([format!("no file with top-level key {key}; add `{command} --output json`, or collect live")])
}

/// The known value of a source, or the check that says why there is none (`skipped` when it was
/// not collected, `unknown` when collecting it failed).
fn read<'a, T>(
    signal: &'a Signal<T>,
    id: &str,
    what: &str,
    key: &str,
    command: &str,
    out: &mut PlatformJudgement,
) -> Option<&'a T> {
    match signal {
        Signal::NotCollected => {
            out.checks.push(absent(id, what, key, command));
            None
        }
        Signal::Failed(m) => {
            out.checks
                .push(check(id, CheckStatus::Unknown, format!("Could not read {what}")).with_evidence([m.describe()]));
            None
        }
        Signal::Known(v) => Some(v),
    }
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "?".into())
}

/// What AWS asks of an account after an abuse report, in order (AWS Trust & Safety's process).
const ABUSE_PROCESS: [&str; 3] = [
    "Stop the activity first: isolate the instance (a security group with no rules), snapshot its volumes for forensics, and replace it from a clean image rather than cleaning it in place",
    "Rotate every credential the instance could read: its role's sessions, access keys, SSH keys, application secrets",
    "Answer the abuse report (reply to the AWS Trust & Safety e-mail sent to the security contact, or the support case) with the cause and what you did: AWS lifts the block once the reply is accepted",
];

/// The reference time: the clock when live; else the snapshot stamp; else the newest time in the
/// evidence.
fn reference_time(p: &PlatformEvidence, window: &ChangeWindow) -> Option<Timestamp> {
    if let Some(now) = window.now {
        return Some(now);
    }
    if p.taken_at.is_some() {
        return p.taken_at;
    }
    let mut times: Vec<Timestamp> = Vec::new();
    if let Some(t) = p.trail.known() {
        times.extend(t.iter().map(|e| e.time));
    }
    if let Some(e) = p.health_events.known() {
        times.extend(e.iter().flat_map(|e| [e.start, e.last_updated]).flatten());
    }
    if let Some(f) = p.findings.known() {
        times.extend(f.iter().filter_map(|f| f.last_seen));
    }
    times.into_iter().max()
}

/// How directly an abuse notice names the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tie {
    /// The account's, naming no resource (or its entities could not be read).
    Account,
    /// Names the instance, an interface or an address.
    Direct,
    /// Names it and marks it IMPAIRED: AWS acted on it.
    Impaired,
}

struct Notice {
    tie: Tie,
    open: bool,
    evidence: Vec<String>,
    fix: Option<Fix>,
    timeline: TimelineEntry,
}

fn health_notices(p: &PlatformEvidence, s: &Subject, out: &mut PlatformJudgement) -> Vec<Notice> {
    let id = "platform.abuse";
    let Some(events) = read(
        &p.health_events,
        id,
        "AWS Health abuse notices",
        "events",
        "aws health describe-events --region us-east-1 --filter services=ABUSE",
        out,
    ) else {
        return vec![];
    };
    let entities = p.health_entities.known();
    let abuse: Vec<&HealthEvent> = events.iter().filter(|e| e.is_abuse()).collect();
    let mut notices = Vec::new();
    let mut elsewhere = 0;
    for e in &abuse {
        let mine: Vec<_> =
            entities.map(|all| all.iter().filter(|x| x.event_arn == e.arn).collect()).unwrap_or_default();
        let named: Vec<_> = mine.iter().filter_map(|x| s.named_by(&x.value).map(|id| (id, *x))).collect();
        let tie = if named.iter().any(|(_, x)| x.status.as_deref() == Some("IMPAIRED")) {
            Tie::Impaired
        } else if !named.is_empty() {
            Tie::Direct
        } else if mine.is_empty() {
            Tie::Account
        } else {
            elsewhere += 1;
            continue;
        };
        let mut evidence = vec![format!(
            "AWS Health {} event {} ({}), status {}, started {} (events)",
            e.service,
            e.type_code,
            e.arn,
            e.status,
            ts(e.start)
        )];
        evidence.extend(named.iter().map(|(id, x)| {
            format!("affects {id}: entity {} {} (entities)", x.value, x.status.as_deref().unwrap_or("status unknown"))
        }));
        if tie == Tie::Account {
            evidence.push(match entities {
                Some(_) => "the event lists no affected resource (entities)".to_string(),
                None => "which resource it affects is unknown: no affected-entities evidence (aws health describe-affected-entities)".to_string(),
            });
        }
        notices.push(Notice {
            tie,
            open: e.status != "closed",
            evidence,
            fix: Some(Fix::text("Read the notice: ").then_run(
                ShellCommand::new("aws health describe-event-details --region us-east-1 --event-arns").arg(&e.arn),
            )),
            timeline: TimelineEntry {
                time: ts(e.start),
                source: "health".into(),
                event: e.type_code.clone(),
                actor: Some("AWS".into()),
                component: named.first().map(|(id, _)| id.to_string()),
                event_id: Some(e.arn.clone()),
                detail: Some(format!("abuse notice, status {}", e.status)),
            },
        });
    }
    if elsewhere > 0 {
        out.notes.push(format!("{elsewhere} AWS Health abuse event(s) affect other resources of the account: ignored"));
    }
    out.checks.push(notice_check(id, "AWS Health", events.len(), &notices));
    notices
}

fn case_notices(p: &PlatformEvidence, s: &Subject, out: &mut PlatformJudgement) -> Vec<Notice> {
    let id = "platform.support";
    let Some(cases) = read(
        &p.cases,
        id,
        "AWS Support cases",
        "cases",
        "aws support describe-cases --region us-east-1 --include-resolved-cases",
        out,
    ) else {
        return vec![];
    };
    let notices: Vec<Notice> = cases
        .iter()
        .filter(|c| c.is_abuse())
        .map(|c: &SupportCase| {
            let named = s.mentioned_in(&c.text);
            let shown = c.display_id.as_deref().unwrap_or(&c.case_id);
            let mut evidence = vec![format!(
                "Support case {shown} \"{}\", status {}, opened {} (cases)",
                c.subject,
                c.status,
                ts(c.created)
            )];
            if let Some(id) = named {
                evidence.push(format!("the case names {id}"));
            }
            Notice {
                tie: if named.is_some() { Tie::Direct } else { Tie::Account },
                open: c.is_open(),
                evidence,
                fix: Some(
                    Fix::text(format!("Read and answer support case {shown}: ")).then_run(
                        ShellCommand::new("aws support describe-communications --region us-east-1 --case-id")
                            .arg(&c.case_id),
                    ),
                ),
                timeline: TimelineEntry {
                    time: ts(c.created),
                    source: "support".into(),
                    event: format!("case {shown}"),
                    actor: None,
                    component: named.map(str::to_string),
                    event_id: Some(c.case_id.clone()),
                    detail: Some(format!("{} ({})", c.subject, c.status)),
                },
            }
        })
        .collect();
    out.checks.push(notice_check(id, "AWS Support", cases.len(), &notices));
    notices
}

fn notice_check(id: &str, source: &str, read: usize, notices: &[Notice]) -> Check {
    let open = notices.iter().filter(|n| n.open).count();
    let (status, summary) = match (open, notices.len()) {
        (0, 0) => (CheckStatus::Pass, format!("No abuse notice in {source} ({read} read)")),
        (0, n) => (CheckStatus::Warn, format!("{n} closed abuse notice(s) in {source}")),
        (o, _) if notices.iter().any(|n| n.open && n.tie >= Tie::Direct) => {
            (CheckStatus::Fail, format!("{o} open abuse notice(s) in {source} name this resource"))
        }
        (o, _) => (CheckStatus::Warn, format!("{o} open abuse notice(s) in {source} for the account")),
    };
    check(id, status, summary).with_evidence(notices.iter().flat_map(|n| n.evidence.clone()))
}

/// Findings about the instance, and those that show it attacking others.
fn findings(p: &PlatformEvidence, s: &Subject, out: &mut PlatformJudgement, now: Option<Timestamp>) -> Vec<Finding> {
    let id = "platform.guardduty";
    let Some(all) = read(&p.findings, id, "GuardDuty findings", "Findings", "aws guardduty get-findings", out) else {
        return vec![];
    };
    let (mine, others): (Vec<&Finding>, Vec<&Finding>) = all.iter().partition(|f| {
        f.instance_id.as_ref().is_some_and(|i| Some(i) == s.instance.as_ref())
            || f.addresses.iter().any(|a| s.addresses.contains(a) || s.interfaces.contains(a))
    });
    if !others.is_empty() {
        out.notes.push(format!("{} GuardDuty finding(s) about other resources: ignored", others.len()));
    }
    let describe = |f: &Finding| {
        format!(
            "GuardDuty {} (severity {:.1}, {} time(s), first {}, last {}{}): {} (Findings: {})",
            f.type_name,
            f.severity,
            f.count,
            ts(f.first_seen),
            ts(f.last_seen),
            if f.archived { ", archived" } else { "" },
            f.title,
            f.id
        )
    };
    let attacking: Vec<Finding> =
        mine.iter().filter(|f| f.attacks_others() && !f.archived).map(|f| (*f).clone()).collect();
    let (status, summary) = if attacking.is_empty() {
        (
            CheckStatus::Pass,
            format!("No GuardDuty finding shows {} attacking others ({} finding(s) about it)", s.who(), mine.len()),
        )
    } else {
        (
            CheckStatus::Warn,
            format!("GuardDuty shows {} attacking others: AWS blocks instances reported for this", s.who()),
        )
    };
    out.checks.push(check(id, status, summary).with_evidence(mine.iter().map(|f| describe(f))));
    for f in &mine {
        out.timeline.push(TimelineEntry {
            time: ts(f.first_seen),
            source: "guardduty".into(),
            event: f.type_name.clone(),
            // The instance is the actor only when it did it (not when it was the target).
            actor: s.instance.clone().filter(|_| f.resource_role.as_deref() == Some("ACTOR")),
            component: s.instance.clone(),
            event_id: Some(f.id.clone()),
            detail: Some(format!(
                "severity {:.1}, {} time(s), last seen {}{}",
                f.severity,
                f.count,
                ts(f.last_seen),
                f.last_seen.zip(now).map(|(l, n)| format!(" ({})", l.ago(n))).unwrap_or_default()
            )),
        });
    }
    attacking
}

/// Changes to the path's resources within the window.
fn changes(
    p: &PlatformEvidence,
    s: &Subject,
    window: &ChangeWindow,
    now: Option<Timestamp>,
    out: &mut PlatformJudgement,
) {
    let id = "platform.cloudtrail";
    let Some(trail) = read(
        &p.trail,
        id,
        "changes to the path (CloudTrail)",
        "Events",
        "aws cloudtrail lookup-events --lookup-attributes AttributeKey=ResourceName,AttributeValue=<id>",
        out,
    ) else {
        return;
    };
    let since = match (window.since, now) {
        (Since::At(t), _) => Some(t),
        (Since::Ago(secs), Some(n)) => Some(Timestamp(n.0 - secs)),
        (Since::Ago(_), None) => None,
    };
    let ids: Vec<&str> = s.ids().collect();
    let mut elsewhere = 0;
    let mut mine: Vec<TrailEvent> = Vec::new();
    for e in trail.iter().filter(|e| !e.read_only && since.is_none_or(|t| e.time >= t)) {
        if e.resources.iter().any(|r| ids.contains(&r.as_str())) {
            if !mine.iter().any(|m| m.event_id == e.event_id) {
                mine.push(e.clone());
            }
        } else {
            elsewhere += 1;
        }
    }
    mine.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.event_id.cmp(&b.event_id)));
    if elsewhere > 0 {
        out.notes.push(format!("{elsewhere} CloudTrail change(s) to resources off this path: ignored"));
    }
    let window_text = since.map(|t| format!("since {t}")).unwrap_or_else(|| "in the evidence".into());
    let line = |e: &TrailEvent| {
        format!(
            "{} {} by {} on {}{} (CloudTrail {})",
            e.time,
            e.name,
            e.actor.as_deref().unwrap_or("?"),
            touched(e, &ids),
            e.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
            e.event_id
        )
    };
    out.checks.push(
        check(id, CheckStatus::Pass, format!("{} change(s) to the path's resources {window_text}", mine.len()))
            .with_evidence(mine.iter().map(line)),
    );
    for e in &mine {
        out.timeline.push(TimelineEntry {
            time: e.time.to_string(),
            source: "cloudtrail".into(),
            event: e.name.clone(),
            actor: e.actor.clone(),
            component: Some(touched(e, &ids)),
            event_id: Some(e.event_id.clone()),
            detail: match (&e.detail, now) {
                (Some(d), Some(n)) => Some(format!("{d}, {}", e.time.ago(n))),
                (Some(d), None) => Some(d.clone()),
                (None, Some(n)) => Some(e.time.ago(n)),
                (None, None) => None,
            },
        });
    }
    out.changes = mine;
}

/// The first path resource an event touched.
fn touched(e: &TrailEvent, ids: &[&str]) -> String {
    e.resources.iter().find(|r| ids.contains(&r.as_str())).cloned().unwrap_or_default()
}

/// Judges the platform layer for one subject.
pub fn judge_platform(p: &PlatformEvidence, s: &Subject, window: &ChangeWindow) -> PlatformJudgement {
    let mut out = PlatformJudgement::default();
    let now = reference_time(p, window);
    let mut notices = health_notices(p, s, &mut out);
    notices.extend(case_notices(p, s, &mut out));
    let attacking = findings(p, s, &mut out, now);
    changes(p, s, window, now, &mut out);
    out.timeline.extend(notices.iter().map(|n| n.timeline.clone()));

    let component = s.instance.clone().or_else(|| s.addresses.first().cloned()).unwrap_or_else(|| "-".into());
    let open: Vec<&Notice> = notices.iter().filter(|n| n.open).collect();
    let strongest = open.iter().map(|n| n.tie).max();
    let notices_unread = !matches!(p.health_events, Signal::Known(_)) && !matches!(p.cases, Signal::Known(_));
    let abuse = match strongest {
        Some(tie) => {
            let (confidence, message) = match tie {
                Tie::Impaired => (Confidence::Confirmed, format!("AWS blocked {} after an abuse report: the notice marks it impaired", s.who())),
                Tie::Direct => (Confidence::Likely, format!("An abuse report against {} is open: AWS blocks reported resources until the report is answered", s.who())),
                Tie::Account => (Confidence::Possible, format!("An abuse report is open for this account; it does not name {}, but may be why it is blocked", s.who())),
            };
            let mut fix: Vec<Fix> = open.iter().filter_map(|n| n.fix.clone()).collect();
            fix.extend(ABUSE_PROCESS.iter().map(|s| Fix::text(*s)));
            Some(
                Cause::blocking(CauseCode::AbuseBlock, &component, confidence, message)
                    .with_evidence(open.iter().flat_map(|n| n.evidence.clone()))
                    .with_fix(fix),
            )
        }
        None if !attacking.is_empty() && notices_unread => Some(
            Cause::blocking(
                CauseCode::AbuseBlock,
                &component,
                Confidence::Possible,
                format!("{} is attacking others and AWS's abuse notices could not be read: AWS may have blocked it", s.who()),
            )
            .with_evidence(["the abuse notices (AWS Health, Support) were not available: see checks platform.abuse and platform.support".to_string()])
            .with_fix(
                [Fix::text("Look for an abuse notice in the e-mail to the account's security contact and on the AWS Health Dashboard")]
                    .into_iter()
                    .chain(ABUSE_PROCESS.iter().map(|s| Fix::text(*s))),
            ),
        ),
        None => None,
    };
    // Not asked (a snapshot without the platform files) is skipped; asked and failed is unknown.
    let never_asked = matches!(p.health_events, Signal::NotCollected) && matches!(p.cases, Signal::NotCollected);
    let (hop_status, hop_detail) = match &abuse {
        Some(c) if c.decides_blocked() => (CheckStatus::Fail, c.message.clone()),
        Some(c) => (CheckStatus::Warn, c.message.clone()),
        None if notices_unread && never_asked => {
            (CheckStatus::Skipped, "abuse notices not in the evidence".to_string())
        }
        None if notices_unread => (CheckStatus::Unknown, "abuse notices could not be read".to_string()),
        None => (CheckStatus::Pass, "no open abuse notice".to_string()),
    };
    out.hop = Some(Hop::new("platform", component.clone(), hop_status, hop_detail));
    if let Some(abuse) = abuse {
        out.causes.push(abuse);
        if !attacking.is_empty() {
            let get_findings = ShellCommand::new("aws guardduty get-findings --detector-id");
            let get_findings = match attacking.iter().find_map(|f| f.detector_id.as_deref()) {
                Some(d) => get_findings.arg(d),
                None => get_findings.lit("<detector-id>"),
            };
            let get_findings = attacking.iter().fold(get_findings.lit("--finding-ids"), |c, f| c.arg(&f.id));
            let mut c = Cause::blocking(
                CauseCode::InstanceCompromised,
                &component,
                Confidence::Confirmed,
                format!(
                    "GuardDuty shows {} attacking others ({}): the likely reason for the abuse report",
                    s.who(),
                    attacking.iter().map(|f| f.type_name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_evidence(attacking.iter().map(|f| {
                format!(
                    "{} severity {:.1}, {} time(s) from {} to {} (Findings: {})",
                    f.type_name,
                    f.severity,
                    f.count,
                    ts(f.first_seen),
                    ts(f.last_seen),
                    f.id
                )
            }))
            .with_fix([Fix::run(get_findings)].into_iter().chain(ABUSE_PROCESS[..2].iter().map(|s| Fix::text(*s))));
            c.blocking = false;
            out.causes.push(c);
        }
    }
    out.timeline.sort_by(|a, b| b.time.cmp(&a.time));
    out
}

/// Which changes can introduce a cause: the event names, and the resources they must touch.
fn introducers(code: CauseCode) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let r: (&[&str], &[&str]) = match code {
        CauseCode::SecurityGroupNoIngress => (
            &[
                "RevokeSecurityGroupIngress",
                "ModifySecurityGroupRules",
                "ModifyNetworkInterfaceAttribute",
                "ModifyInstanceAttribute",
            ],
            &["sg-", "eni-", "i-"],
        ),
        CauseCode::NaclInboundDeny | CauseCode::NaclOutboundDeny => (
            &[
                "CreateNetworkAclEntry",
                "ReplaceNetworkAclEntry",
                "DeleteNetworkAclEntry",
                "ReplaceNetworkAclAssociation",
            ],
            &["acl-"],
        ),
        CauseCode::RouteToIgwMissing | CauseCode::RouteBlackhole => (
            &[
                "DeleteRoute",
                "ReplaceRoute",
                "ReplaceRouteTableAssociation",
                "DisassociateRouteTable",
                "DetachInternetGateway",
                "DeleteInternetGateway",
            ],
            &["rtb-", "igw-"],
        ),
        CauseCode::IgwMissing => (&["DetachInternetGateway", "DeleteInternetGateway"], &["igw-", "vpc-"]),
        CauseCode::PublicIpNotAssociated | CauseCode::NoPublicIp => (
            &["DisassociateAddress", "ReleaseAddress", "AssociateAddress", "ModifyNetworkInterfaceAttribute"],
            &["eipalloc-", "eipassoc-", "eni-", "i-", ""],
        ),
        CauseCode::InstanceNotRunning => (&["StopInstances", "TerminateInstances"], &["i-"]),
        CauseCode::VpcBlockPublicAccess => (
            &[
                "ModifyVpcBlockPublicAccessOptions",
                "DeleteVpcBlockPublicAccessExclusion",
                "ModifyVpcBlockPublicAccessExclusion",
            ],
            &[""],
        ),
        _ => return None,
    };
    Some(r)
}

fn proto_matches(written: &str, proto: Proto) -> bool {
    let (name, number) = match proto {
        Proto::Tcp => ("tcp", "6"),
        Proto::Udp => ("udp", "17"),
    };
    matches!(written, "-1" | "all") || written.eq_ignore_ascii_case(name) || written == number
}

fn covers(c: &ChangedPorts, port: u16, proto: Proto) -> bool {
    proto_matches(&c.protocol, proto)
        && match (c.from, c.to) {
            (Some(f), Some(t)) => f <= port && port <= t,
            _ => true,
        }
}

impl PlatformJudgement {
    /// Ties each cause to the newest change that can have introduced it (`introduced_by`), with an
    /// evidence line naming who and when. Port-specific changes must cover the port asked about.
    pub fn tie_changes(&self, causes: &mut [Cause], port: u16, proto: Proto) {
        for cause in causes.iter_mut() {
            let Some((names, prefixes)) = introducers(cause.code) else { continue };
            let found = self.changes.iter().find(|e| {
                names.contains(&e.name.as_str())
                    && e.resources.iter().any(|r| prefixes.iter().any(|p| r.starts_with(p)))
                    && match cause.code {
                        CauseCode::NaclInboundDeny => {
                            e.egress != Some(true)
                                && (e.ports.is_empty() || e.ports.iter().any(|c| covers(c, port, proto)))
                        }
                        CauseCode::NaclOutboundDeny => e.egress != Some(false),
                        CauseCode::SecurityGroupNoIngress => {
                            e.ports.is_empty() || e.ports.iter().any(|c| covers(c, port, proto))
                        }
                        _ => true,
                    }
            });
            if let Some(e) = found {
                cause.introduced_by = Some(e.event_id.clone());
                cause.evidence.push(format!(
                    "introduced by {} by {} at {}{} (CloudTrail {})",
                    e.name,
                    e.actor.as_deref().unwrap_or("?"),
                    e.time,
                    e.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
                    e.event_id
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
