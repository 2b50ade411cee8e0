use crate::aws::parse_aws;
use portdoctor_model::platform::Signal;
use portdoctor_model::time::Timestamp;

fn doc(name: &str, text: &str) -> (String, String) {
    (name.to_string(), text.to_string())
}

#[test]
fn health_and_cloudtrail_keys_differ_only_by_case() {
    let ev = parse_aws(&[
        doc("h.json", r#"{"events":[{"arn":"arn:e1","service":"ABUSE","eventTypeCode":"AWS_ABUSE_DOS_REPORT","statusCode":"open","startTime":1795576320.5}]}"#),
        doc("t.json", r#"{"Events":[{"EventId":"e-1","EventName":"DeleteRoute","EventTime":"2026-11-19 03:12:00+00:00","ReadOnly":"false","Resources":[{"ResourceType":"AWS::EC2::RouteTable","ResourceName":"rtb-1"}],
            "CloudTrailEvent":"{\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/ci\"},\"requestParameters\":{\"routeTableId\":\"rtb-1\",\"destinationCidrBlock\":\"0.0.0.0/0\"}}"}]}"#),
    ])
    .unwrap();
    let events = ev.platform.health_events.known().unwrap();
    assert!(events[0].is_abuse());
    assert_eq!(events[0].start, Some(Timestamp(1_795_576_320)));
    let trail = ev.platform.trail.known().unwrap();
    assert_eq!(trail[0].time.to_string(), "2026-11-19T03:12:00Z");
    assert_eq!(trail[0].actor.as_deref(), Some("ci"), "from userIdentity when Username is absent");
    assert_eq!(trail[0].detail.as_deref(), Some("0.0.0.0/0"));
    assert!(!trail[0].read_only);
    assert_eq!(ev.platform.findings, Signal::NotCollected);
}

#[test]
fn network_acl_change_is_described_with_its_direction() {
    let ev = parse_aws(&[doc(
        "t.json",
        r#"{"Events":[{"EventId":"e-2","EventName":"CreateNetworkAclEntry","EventTime":"2026-11-19T03:12:00Z","Username":"bob",
            "CloudTrailEvent":"{\"requestParameters\":{\"networkAclId\":\"acl-1\",\"ruleNumber\":90,\"egress\":false,\"ruleAction\":\"deny\",\"protocol\":\"6\",\"portRange\":{\"from\":8000,\"to\":9000},\"cidrBlock\":\"0.0.0.0/0\"}}"}]}"#,
    )])
    .unwrap();
    let e = &ev.platform.trail.known().unwrap()[0];
    assert_eq!(e.detail.as_deref(), Some("rule 90 deny 6 8000-9000 from 0.0.0.0/0 (inbound)"));
    assert_eq!(e.resources, vec!["acl-1"]);
    assert_eq!(e.egress, Some(false));
    assert_eq!((e.ports[0].from, e.ports[0].to), (Some(8000), Some(9000)));
}

#[test]
fn bad_entries_are_skipped_with_a_note_and_the_rest_read() {
    let ev = parse_aws(&[
        doc("f.json", r#"{"Findings":[{"Id":"f-1","Type":"Backdoor:EC2/Spambot","Severity":5},{"Id":"f-2","Severity":"high"}]}"#),
        doc("c.json", r#"{"cases":[{"caseId":"c-1","subject":"Abuse report","status":"opened","timeCreated":"yesterday"},{"caseId":"c-2","subject":"x"}]}"#),
    ])
    .unwrap();
    assert_eq!(ev.platform.findings.known().unwrap().len(), 1);
    assert_eq!(ev.platform.cases.known().unwrap().len(), 1);
    assert!(ev.notes.iter().any(|n| n.starts_with("f.json: Findings[1]") && n.contains("skipped")), "{:?}", ev.notes);
    assert!(ev.notes.iter().any(|n| n.starts_with("c.json: cases[0].timeCreated skipped")), "{:?}", ev.notes);
}

#[test]
fn security_hub_findings_are_told_apart() {
    let ev = parse_aws(&[doc(
        "sh.json",
        r#"{"Findings":[{"SchemaVersion":"2018-10-08","Id":"x","ProductArn":"arn:aws:securityhub:::product/aws/guardduty","Types":["TTPs"],"Severity":{"Label":"HIGH"}}]}"#,
    )])
    .unwrap();
    assert!(ev.notes.iter().any(|n| n.contains("Security Hub")));
    assert_eq!(ev.platform.findings, Signal::NotCollected, "not GuardDuty's answer: skipped, with the note");
}

#[test]
fn a_truncated_file_or_a_non_list_stops_the_run() {
    let e = parse_aws(&[doc("h.json", r#"{"events":[{"arn":"#)]).unwrap_err();
    assert_eq!(e.file, "h.json");
    assert!(e.field.starts_with("line 1"));
    let e = parse_aws(&[doc("t.json", r#"{"Events":{"EventId":"x"}}"#)]).unwrap_err();
    assert_eq!((e.file.as_str(), e.field.as_str()), ("t.json", "Events"));
}

#[test]
fn failed_live_calls_carry_the_platform_remedy() {
    let ev = parse_aws(&[doc(
        "portdoctor-calls.json",
        r#"{"PortdoctorCalls":[{"Key":"events","Action":"health:DescribeEvents","Outcome":"subscription-required","Message":"SubscriptionRequiredException"},
            {"Key":"Findings","Action":"guardduty:ListDetectors","Outcome":"not-enabled","Message":"no detector in us-east-1"}]}"#,
    )])
    .unwrap();
    let Signal::Failed(m) = &ev.platform.health_events else { panic!("{:?}", ev.platform.health_events) };
    assert!(m.remedy.contains("Business") && m.remedy.contains("security contact"));
    let Signal::Failed(m) = &ev.platform.findings else { panic!() };
    assert!(m.remedy.contains("create-detector"));
    assert_eq!(ev.platform.cases, Signal::NotCollected);
}
