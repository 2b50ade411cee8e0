//! The platform layer on the seed incident (examples/seed-incident/aws), one change per case.

use crate::cloud::{CloudQuery, CloudTarget, diagnose_cloud};
use crate::platform::{ChangeWindow, Since};
use portdoctor_model::cloud::PortRange;
use portdoctor_model::time::Timestamp;
use portdoctor_model::{CauseCode, CheckStatus, Confidence, Diagnosis, Proto, Source, Status};
use serde_json::{Value, json};

const INSTANCE: &str = "i-0a1b2c3d4e5f60718";

macro_rules! example {
    ($($file:literal),* $(,)?) => {
        vec![$(($file.to_string(), include_str!(concat!("../../../../examples/seed-incident/aws/", $file)).to_string())),*]
    };
}

fn seed() -> Vec<(String, String)> {
    example![
        "ec2-describe-instances.json",
        "ec2-describe-network-interfaces.json",
        "ec2-describe-security-groups.json",
        "ec2-describe-network-acls.json",
        "ec2-describe-route-tables.json",
        "ec2-describe-internet-gateways.json",
        "ec2-describe-egress-only-internet-gateways.json",
        "ec2-describe-addresses.json",
        "ec2-describe-subnets.json",
        "ec2-describe-vpcs.json",
        "ec2-describe-vpc-block-public-access-options.json",
        "health-describe-events.json",
        "health-describe-affected-entities.json",
        "guardduty-get-findings.json",
        "cloudtrail-lookup-events.json",
        "support-describe-cases.json",
        "portdoctor-snapshot.json",
    ]
}

/// The seed with one document replaced (or removed, with `None`).
fn with(docs: &[(String, String)], file: &str, doc: Option<Value>) -> Vec<(String, String)> {
    let mut out: Vec<_> = docs.iter().filter(|(n, _)| n != file).cloned().collect();
    if let Some(d) = doc {
        out.push((file.to_string(), d.to_string()));
    }
    out
}

fn doc(docs: &[(String, String)], file: &str) -> Value {
    serde_json::from_str(&docs.iter().find(|(n, _)| n == file).unwrap().1).unwrap()
}

fn run(docs: &[(String, String)], port: u16, since: Since) -> Diagnosis {
    let ev = portdoctor_parse::aws::parse_aws(docs).unwrap();
    let q = CloudQuery {
        port,
        proto: Proto::Tcp,
        from: Source::Internet,
        target: CloudTarget::Instance(INSTANCE.into()),
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: ChangeWindow { now: None, since },
        family: None,
        name: None,
    };
    diagnose_cloud(&ev, &q)
}

fn two_weeks() -> Since {
    Since::Ago(14 * 86_400)
}

fn cause(d: &Diagnosis, code: CauseCode) -> Option<&portdoctor_model::Cause> {
    d.causes.iter().find(|c| c.code == code)
}

fn check<'a>(d: &'a Diagnosis, id: &str) -> &'a portdoctor_model::Check {
    d.checks.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn seed_incident_abuse_block_with_compromise_behind_it() {
    let d = run(&seed(), 8080, two_weeks());
    assert_eq!(d.status, Status::Blocked);
    let abuse = &d.causes[0];
    assert_eq!(abuse.code, CauseCode::AbuseBlock);
    assert_eq!(abuse.confidence, Confidence::Confirmed, "the entity is IMPAIRED");
    assert!(abuse.evidence.iter().any(|e| e.contains("AWS_ABUSE_DOS_REPORT")));
    assert!(abuse.fix.iter().any(|f| f.contains("describe-event-details")));
    let comp = cause(&d, CauseCode::InstanceCompromised).unwrap();
    assert!(!comp.blocking);
    assert!(comp.message.contains("Backdoor:EC2/DenialOfService.Udp"));
    assert!(!comp.message.contains("SSHBruteForce"), "the instance was the target of that one");
    assert_eq!(d.causes.len(), 2, "every network layer admits: {:#?}", d.causes);
    assert_eq!(d.path[1].hop, "platform");
    assert_eq!(d.path[1].status, CheckStatus::Fail);
    // Timeline: newest first; read-only calls left out; ages relative to the snapshot's stamp.
    let events: Vec<&str> = d.timeline.iter().map(|t| t.event.as_str()).collect();
    assert!(!events.contains(&"DescribeSecurityGroups"));
    assert!(d.timeline.windows(2).all(|w| w[0].time >= w[1].time), "{events:?}");
    let sg = d.timeline.iter().find(|t| t.event == "AuthorizeSecurityGroupIngress").unwrap();
    assert_eq!(sg.actor.as_deref(), Some("deploy-bot"));
    assert_eq!(sg.detail.as_deref(), Some("tcp/8080 from 0.0.0.0/0, 9 days ago"));
}

#[test]
fn tie_strength_sets_confidence() {
    let base = seed();
    let no_case = with(&base, "support-describe-cases.json", None);
    // Named but not marked impaired: likely.
    let mut entities = doc(&base, "health-describe-affected-entities.json");
    for e in entities["entities"].as_array_mut().unwrap() {
        e["statusCode"] = json!("UNKNOWN");
    }
    let docs = with(&no_case, "health-describe-affected-entities.json", Some(entities));
    assert_eq!(cause(&run(&docs, 8080, two_weeks()), CauseCode::AbuseBlock).unwrap().confidence, Confidence::Likely);
    // No entities at all: the account's notice, possible → inconclusive.
    let docs = with(&no_case, "health-describe-affected-entities.json", Some(json!({"entities": []})));
    let d = run(&docs, 8080, two_weeks());
    assert_eq!(cause(&d, CauseCode::AbuseBlock).unwrap().confidence, Confidence::Possible);
    assert_eq!(d.status, Status::Inconclusive);
    // The event names another instance: ignored, with a note; the findings stay a warning.
    let other = json!({"entities": [{"eventArn": doc(&base, "health-describe-events.json")["events"][0]["arn"], "entityValue": "i-0ffffffffffffffff", "statusCode": "IMPAIRED"}]});
    let docs = with(&no_case, "health-describe-affected-entities.json", Some(other));
    let d = run(&docs, 8080, two_weeks());
    assert_eq!(d.status, Status::Reachable, "{:#?}", d.causes);
    assert!(d.causes.is_empty(), "causes are [] when reachable");
    assert_eq!(check(&d, "platform.guardduty").status, CheckStatus::Warn);
    assert!(d.notes.iter().any(|n| n.contains("affect other resources")));
    // A closed notice: history, not a block.
    let mut events = doc(&base, "health-describe-events.json");
    events["events"][0]["statusCode"] = json!("closed");
    let docs = with(&no_case, "health-describe-events.json", Some(events));
    let d = run(&docs, 8080, two_weeks());
    assert!(cause(&d, CauseCode::AbuseBlock).is_none());
    assert_eq!(check(&d, "platform.abuse").status, CheckStatus::Warn);
    // A support case naming the address is enough on its own: likely.
    let docs = with(&base, "health-describe-events.json", Some(json!({"events": []})));
    let d = run(&docs, 8080, two_weeks());
    assert_eq!(cause(&d, CauseCode::AbuseBlock).unwrap().confidence, Confidence::Likely);
}

#[test]
fn notices_unreadable_but_instance_attacking_is_possible_abuse() {
    let mut docs = with(&seed(), "health-describe-events.json", None);
    docs = with(&docs, "health-describe-affected-entities.json", None);
    docs = with(&docs, "support-describe-cases.json", None);
    docs.push((
        "portdoctor-calls.json".into(),
        json!({"PortdoctorCalls": [{"Key": "events", "Action": "health:DescribeEvents", "Outcome": "subscription-required", "Message": "SubscriptionRequiredException: The AWS Premium Support Subscription is required to use this service."}]}).to_string(),
    ));
    let d = run(&docs, 8080, two_weeks());
    let abuse = cause(&d, CauseCode::AbuseBlock).unwrap();
    assert_eq!(abuse.confidence, Confidence::Possible);
    assert_eq!(d.status, Status::Inconclusive);
    assert!(cause(&d, CauseCode::InstanceCompromised).is_some());
    let health = check(&d, "platform.abuse");
    assert_eq!(health.status, CheckStatus::Unknown);
    assert!(health.evidence[0].contains("EventBridge"), "{:?}", health.evidence);
    assert_eq!(check(&d, "platform.support").status, CheckStatus::Skipped);
}

#[test]
fn a_revoked_rule_is_tied_to_the_cause_it_made() {
    let base = seed();
    let mut sg = doc(&base, "ec2-describe-security-groups.json");
    sg["SecurityGroups"][0]["IpPermissions"].as_array_mut().unwrap().pop();
    let mut trail = doc(&base, "cloudtrail-lookup-events.json");
    let mut revoke = trail["Events"][1].clone();
    revoke["EventId"] = json!("9f1e2d3c-0000-4000-8000-000000000001");
    revoke["EventName"] = json!("RevokeSecurityGroupIngress");
    revoke["EventTime"] = json!("2026-11-19T03:12:00+00:00");
    revoke["Username"] = json!("deploy-bot");
    // The same change for another port must not be blamed.
    let mut other = revoke.clone();
    other["EventId"] = json!("9f1e2d3c-0000-4000-8000-000000000002");
    other["EventTime"] = json!("2026-11-19T05:00:00+00:00");
    other["CloudTrailEvent"] = json!(revoke["CloudTrailEvent"].as_str().unwrap().replace("8080", "9090"));
    trail["Events"].as_array_mut().unwrap().extend([revoke, other]);
    let mut docs = with(&base, "ec2-describe-security-groups.json", Some(sg));
    docs = with(&docs, "cloudtrail-lookup-events.json", Some(trail));
    let d = run(&docs, 8080, two_weeks());
    let c = cause(&d, CauseCode::SecurityGroupNoIngress).unwrap();
    assert_eq!(c.introduced_by.as_deref(), Some("9f1e2d3c-0000-4000-8000-000000000001"));
    assert!(c.evidence.last().unwrap().contains("RevokeSecurityGroupIngress by deploy-bot at 2026-11-19T03:12:00Z"));
    // Outside the window it is not in the timeline, and ties nothing.
    let d = run(&docs, 8080, Since::At(Timestamp::parse("2026-11-19T04:00:00Z").unwrap()));
    let c = cause(&d, CauseCode::SecurityGroupNoIngress).unwrap();
    assert_eq!(c.introduced_by, None);
    assert!(d.timeline.iter().all(|t| t.event_id.as_deref() != Some("9f1e2d3c-0000-4000-8000-000000000001")));
}

#[test]
fn nothing_collected_is_skipped_not_unknown() {
    let docs: Vec<_> = seed().into_iter().filter(|(n, _)| n.starts_with("ec2-")).collect();
    let d = run(&docs, 8080, two_weeks());
    assert_eq!(d.status, Status::Reachable);
    for id in ["platform.abuse", "platform.support", "platform.guardduty", "platform.cloudtrail"] {
        assert_eq!(check(&d, id).status, CheckStatus::Skipped, "{id}");
    }
    assert_eq!(d.path[1].status, CheckStatus::Skipped, "the platform hop says the notices were not asked for");
    assert!(d.timeline.is_empty());
}
