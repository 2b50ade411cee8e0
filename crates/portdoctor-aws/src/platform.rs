//! Live collection of the platform layer: AWS Health abuse events and their affected entities,
//! Support cases, GuardDuty findings, CloudTrail changes — written as the JSON the AWS CLI prints
//! (`events`, `entities`, `cases`, `Findings`, `Events`), so a live run and a snapshot share one
//! parser. Read-only (Describe/List/Get/Lookup only, all in docs/iam-policy.json).
//!
//! Health and Support are global services answered from us-east-1, and both need a Business,
//! Enterprise On-Ramp or Enterprise support plan: without one they answer
//! SubscriptionRequiredException, recorded as `subscription-required` so the report can say where
//! else the notice is.

use crate::{Session, describe_error};
use aws_config::SdkConfig;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Value, json};

pub use portdoctor_collect::cloud::PlatformScope;

/// Bounds on what one run fetches, so a busy account cannot make a diagnosis slow.
const MAX_PAGES: usize = 5;

/// The first `MAX_PAGES` pages of a paginated call.
async fn first_pages<T>(mut stream: PaginationStream<T>) -> Vec<T> {
    let mut out = Vec::new();
    while out.len() < MAX_PAGES {
        match stream.next().await {
            Some(page) => out.push(page),
            None => break,
        }
    }
    out
}

pub(crate) fn iso(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok()).map(Value::String).unwrap_or(Value::Null)
}

fn global_config(config: &SdkConfig) -> SdkConfig {
    // Health's and Support's endpoints live in us-east-1 whatever the workload's region.
    config.to_builder().region(aws_config::Region::from_static("us-east-1")).build()
}

async fn health(s: &mut Session, config: &SdkConfig) {
    use aws_sdk_health::types::{EntityFilter, EventFilter};
    let c = aws_sdk_health::Client::new(&global_config(config));
    let filter = EventFilter::builder().services("ABUSE").build();
    let pages = first_pages(c.describe_events().filter(filter).into_paginator().send()).await;
    let mut events = Vec::new();
    for page in pages {
        match page {
            Ok(p) => events.extend(p.events().iter().cloned()),
            Err(e) => return s.failed("events", "health:DescribeEvents", describe_error(&e)),
        }
    }
    let arns: Vec<String> = events.iter().filter_map(|e| e.arn().map(str::to_string)).collect();
    s.put(
        "events",
        events
            .iter()
            .map(|e| {
                json!({
                    "arn": e.arn(), "service": e.service(), "eventTypeCode": e.event_type_code(),
                    "eventTypeCategory": e.event_type_category().map(|c| c.as_str()), "region": e.region(),
                    "startTime": iso(e.start_time()), "lastUpdatedTime": iso(e.last_updated_time()),
                    "statusCode": e.status_code().map(|c| c.as_str()),
                })
            })
            .collect(),
    );
    let mut entities = Vec::new();
    // The API takes at most 10 event ARNs per call.
    for chunk in arns.chunks(10) {
        let filter = EntityFilter::builder().set_event_arns(Some(chunk.to_vec())).build();
        let Ok(filter) = filter else { continue };
        let pages = first_pages(c.describe_affected_entities().filter(filter).into_paginator().send()).await;
        for page in pages {
            match page {
                Ok(p) => entities.extend(p.entities().iter().map(|x| {
                    json!({
                        "entityArn": x.entity_arn(), "eventArn": x.event_arn(), "entityValue": x.entity_value(),
                        "lastUpdatedTime": iso(x.last_updated_time()), "statusCode": x.status_code().map(|c| c.as_str()),
                    })
                })),
                Err(e) => return s.failed("entities", "health:DescribeAffectedEntities", describe_error(&e)),
            }
        }
    }
    s.put("entities", entities);
}

async fn support(s: &mut Session, config: &SdkConfig, since: i64) {
    let c = aws_sdk_support::Client::new(&global_config(config));
    let after = DateTime::from_secs(since).fmt(Format::DateTime).unwrap_or_default();
    let pages = first_pages(
        c.describe_cases()
            .include_resolved_cases(true)
            .include_communications(true)
            .after_time(after)
            .into_paginator()
            .send(),
    )
    .await;
    let mut cases = Vec::new();
    for page in pages {
        match page {
            Ok(p) => cases.extend(p.cases().iter().map(|k| {
                let comms: Vec<Value> = k
                    .recent_communications()
                    .map(|r| r.communications())
                    .unwrap_or_default()
                    .iter()
                    .map(
                        |m| json!({"body": m.body(), "submittedBy": m.submitted_by(), "timeCreated": m.time_created()}),
                    )
                    .collect();
                json!({
                    "caseId": k.case_id(), "displayId": k.display_id(), "subject": k.subject(), "status": k.status(),
                    "serviceCode": k.service_code(), "categoryCode": k.category_code(), "timeCreated": k.time_created(),
                    "recentCommunications": {"communications": comms},
                })
            })),
            Err(e) => return s.failed("cases", "support:DescribeCases", describe_error(&e)),
        }
    }
    s.put("cases", cases);
}

async fn guardduty(s: &mut Session, config: &SdkConfig, instance: Option<&str>) {
    use aws_sdk_guardduty::types::{Condition, FindingCriteria};
    let c = aws_sdk_guardduty::Client::new(config);
    let detectors = match c.list_detectors().send().await {
        Ok(d) => d.detector_ids().to_vec(),
        Err(e) => return s.failed("Findings", "guardduty:ListDetectors", describe_error(&e)),
    };
    let Some(detector) = detectors.first() else {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        return s.failed(
            "Findings",
            "guardduty:ListDetectors",
            ("not-enabled", format!("no GuardDuty detector in {region}")),
        );
    };
    let mut list = c.list_findings().detector_id(detector);
    if let Some(i) = instance {
        let criteria = FindingCriteria::builder()
            .criterion("resource.instanceDetails.instanceId", Condition::builder().equals(i).build())
            .build();
        list = list.finding_criteria(criteria);
    }
    let mut ids = Vec::new();
    for page in first_pages(list.into_paginator().send()).await {
        match page {
            Ok(p) => ids.extend(p.finding_ids().iter().cloned()),
            Err(e) => return s.failed("Findings", "guardduty:ListFindings", describe_error(&e)),
        }
    }
    let mut findings = Vec::new();
    // GetFindings takes at most 50 ids per call.
    for chunk in ids.chunks(50) {
        match c.get_findings().detector_id(detector).set_finding_ids(Some(chunk.to_vec())).send().await {
            Ok(out) => findings.extend(out.findings().iter().map(crate::convert::finding)),
            Err(e) => return s.failed("Findings", "guardduty:GetFindings", describe_error(&e)),
        }
    }
    s.put("Findings", findings);
}

async fn cloudtrail(s: &mut Session, config: &SdkConfig, scope: &PlatformScope) {
    use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
    let c = aws_sdk_cloudtrail::Client::new(config);
    // One attribute per call (the API's rule): each resource on the path, or, for a region
    // snapshot, every write.
    let lookups: Vec<LookupAttribute> = if scope.resources.is_empty() {
        LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::ReadOnly)
            .attribute_value("false")
            .build()
            .into_iter()
            .collect()
    } else {
        scope
            .resources
            .iter()
            .filter_map(|r| {
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::ResourceName)
                    .attribute_value(r)
                    .build()
                    .ok()
            })
            .collect()
    };
    let mut events: Vec<Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for attr in lookups {
        let pages = first_pages(
            c.lookup_events()
                .lookup_attributes(attr)
                .start_time(DateTime::from_secs(scope.since))
                .end_time(DateTime::from_secs(scope.until))
                .into_paginator()
                .send(),
        )
        .await;
        for page in pages {
            match page {
                Ok(p) => {
                    for e in p.events() {
                        if e.event_source().is_some_and(|src| src != "ec2.amazonaws.com")
                            || !seen.insert(e.event_id().unwrap_or_default().to_string())
                        {
                            continue;
                        }
                        events.push(json!({
                            "EventId": e.event_id(), "EventName": e.event_name(), "ReadOnly": e.read_only(),
                            "EventTime": iso(e.event_time()), "EventSource": e.event_source(), "Username": e.username(),
                            "Resources": e.resources().iter().map(|r| json!({"ResourceType": r.resource_type(), "ResourceName": r.resource_name()})).collect::<Vec<_>>(),
                            "CloudTrailEvent": e.cloud_trail_event(),
                        }));
                    }
                }
                Err(e) => return s.failed("Events", "cloudtrail:LookupEvents", describe_error(&e)),
            }
        }
    }
    s.put("Events", events);
}

/// Collects every platform source; each failure is recorded for the report, never fatal.
pub(crate) async fn collect(s: &mut Session, config: &SdkConfig, scope: &PlatformScope) {
    health(s, config).await;
    support(s, config, scope.since).await;
    guardduty(s, config, scope.instance.as_deref()).await;
    cloudtrail(s, config, scope).await;
}
