//! The platform layer's AWS CLI JSON → `PlatformEvidence`: `events` / `entities` (aws health
//! describe-events / describe-affected-entities), `Findings` (aws guardduty get-findings), `Events`
//! (aws cloudtrail lookup-events — note the capital E), `cases` (aws support describe-cases).
//!
//! Unlike the network files, one bad entry must not cost the whole answer: an entry that does not
//! read is skipped with a note naming file and index (the "ignored with a note"); only a
//! file that is not JSON at all, or a key whose value is not a list, stops the run (exit 2).

use crate::ParseError;
use portdoctor_model::platform::{
    AffectedEntity, ChangedPorts, Finding, HealthEvent, PlatformEvidence, Signal, SupportCase, TrailEvent,
};
use portdoctor_model::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Top-level keys of the platform layer, with the command that produces each (for remedies).
pub const PLATFORM_KEYS: &[(&str, &str)] = &[
    ("events", "aws health describe-events --region us-east-1 --filter services=ABUSE"),
    ("entities", "aws health describe-affected-entities --region us-east-1 --filter eventArns=…"),
    ("Findings", "aws guardduty get-findings --detector-id … --finding-ids …"),
    ("Events", "aws cloudtrail lookup-events --lookup-attributes AttributeKey=ResourceName,AttributeValue=…"),
    ("cases", "aws support describe-cases --region us-east-1 --include-resolved-cases"),
    ("PortdoctorSnapshot", "portdoctor snapshot aws"),
];

/// A time as AWS tools print it: ISO text, boto3 text, or epoch seconds (number or text).
#[derive(Debug, Clone, Copy)]
struct Time(Timestamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let parsed = match &v {
            Value::String(s) => Timestamp::parse(s),
            Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| Timestamp(f.floor() as i64)),
            _ => None,
        };
        parsed.map(Time).ok_or_else(|| serde::de::Error::custom(format!("not a time: {v}")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthEventJ {
    arn: String,
    #[serde(default)]
    service: String,
    event_type_code: String,
    region: Option<String>,
    #[serde(default)]
    status_code: String,
    start_time: Option<Time>,
    last_updated_time: Option<Time>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntityJ {
    event_arn: String,
    entity_value: String,
    status_code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdEniJ {
    public_ip: Option<String>,
    private_ip_address: Option<String>,
    network_interface_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdInstanceJ {
    instance_id: Option<String>,
    #[serde(default)]
    network_interfaces: Vec<GdEniJ>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdResourceJ {
    instance_details: Option<GdInstanceJ>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdConnectionJ {
    connection_direction: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdActionJ {
    network_connection_action: Option<GdConnectionJ>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GdServiceJ {
    action: Option<GdActionJ>,
    #[serde(default)]
    archived: bool,
    count: Option<u64>,
    detector_id: Option<String>,
    event_first_seen: Option<Time>,
    event_last_seen: Option<Time>,
    resource_role: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FindingJ {
    id: String,
    #[serde(rename = "Type")]
    type_name: String,
    severity: f64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    resource: GdResourceJ,
    #[serde(default)]
    service: GdServiceJ,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrailResourceJ {
    resource_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrailEventJ {
    event_id: String,
    event_name: String,
    event_time: Time,
    username: Option<String>,
    /// The CLI prints `"true"`/`"false"` as text.
    read_only: Option<Value>,
    #[serde(default)]
    resources: Vec<TrailResourceJ>,
    cloud_trail_event: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommunicationJ {
    #[serde(default)]
    body: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CommunicationsJ {
    #[serde(default)]
    communications: Vec<CommunicationJ>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaseJ {
    case_id: String,
    display_id: Option<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    status: String,
    service_code: Option<String>,
    category_code: Option<String>,
    time_created: Option<Time>,
    #[serde(default)]
    recent_communications: CommunicationsJ,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnapshotStampJ {
    taken_at: Time,
}

/// Resource-id prefixes worth following in a CloudTrail request.
const ID_PREFIXES: &[&str] = &[
    "sg-",
    "sgr-",
    "acl-",
    "aclassoc-",
    "rtb-",
    "rtbassoc-",
    "igw-",
    "eni-",
    "i-",
    "eipalloc-",
    "eipassoc-",
    "vpc-",
    "subnet-",
];

fn looks_like_id(s: &str) -> bool {
    ID_PREFIXES
        .iter()
        .any(|p| s.strip_prefix(p).is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric())))
}

/// Every resource id (and public address) named anywhere in a request.
fn request_ids(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s)
            if (looks_like_id(s) || (key == "publicIp" && s.parse::<IpAddr>().is_ok())) && !out.contains(s) =>
        {
            out.push(s.clone());
        }
        Value::Object(m) => m.iter().for_each(|(k, v)| request_ids(v, k, out)),
        Value::Array(items) => items.iter().for_each(|i| request_ids(i, key, out)),
        _ => {}
    }
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

fn port(v: &Value) -> Option<u16> {
    num(v).and_then(|n| u16::try_from(n).ok())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `items` lists as CloudTrail writes EC2 requests (`{"items": [...]}`), or plain lists.
fn items(v: &Value) -> Vec<&Value> {
    match v.get("items").unwrap_or(v) {
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    }
}

/// The ports, direction and a one-line description of an EC2 change request.
fn describe_request(name: &str, req: &Value) -> (Option<String>, Vec<ChangedPorts>, Option<bool>) {
    let mut ports = Vec::new();
    let mut parts = Vec::new();
    for p in items(&req["ipPermissions"]) {
        let proto = p["ipProtocol"].as_str().unwrap_or("-1").to_string();
        let (from, to) = (port(&p["fromPort"]), port(&p["toPort"]));
        let mut sources: Vec<String> =
            items(&p["ipRanges"]).iter().filter_map(|r| r["cidrIp"].as_str()).map(str::to_string).collect();
        sources.extend(items(&p["ipv6Ranges"]).iter().filter_map(|r| r["cidrIpv6"].as_str()).map(str::to_string));
        sources.extend(items(&p["groups"]).iter().filter_map(|r| r["groupId"].as_str()).map(str::to_string));
        let range = match (from, to) {
            (Some(f), Some(t)) if f == t => format!("/{f}"),
            (Some(f), Some(t)) => format!("/{f}-{t}"),
            _ => String::new(),
        };
        let from_text = if sources.is_empty() { String::new() } else { format!(" from {}", sources.join(", ")) };
        parts.push(format!("{}{range}{from_text}", if proto == "-1" { "all" } else { &proto }));
        ports.push(ChangedPorts { protocol: proto, from, to });
    }
    for r in items(&req["securityGroupRuleIds"]) {
        if let Some(id) = r["securityGroupRuleId"].as_str().or(r.as_str()) {
            parts.push(format!("rule {id}"));
        }
    }
    let mut egress = None;
    if name.contains("NetworkAclEntry") {
        egress = req["egress"].as_bool();
        let proto = text(&req["protocol"]).unwrap_or_else(|| "-1".into());
        let (from, to) = (port(&req["portRange"]["from"]), port(&req["portRange"]["to"]));
        let mut words = vec![format!("rule {}", text(&req["ruleNumber"]).unwrap_or_else(|| "?".into()))];
        if let Some(a) = req["ruleAction"].as_str() {
            words.push(a.to_string());
        }
        if name != "DeleteNetworkAclEntry" {
            words.push(if proto == "-1" { "all".into() } else { proto.clone() });
            if let (Some(f), Some(t)) = (from, to) {
                words.push(if f == t { f.to_string() } else { format!("{f}-{t}") });
            }
            if let Some(c) = req["cidrBlock"].as_str().or(req["ipv6CidrBlock"].as_str()) {
                words.push(format!("from {c}"));
            }
            ports.push(ChangedPorts { protocol: proto, from, to });
        }
        if let Some(e) = egress {
            words.push(if e { "(outbound)".into() } else { "(inbound)".into() });
        }
        parts.push(words.join(" "));
    }
    if let Some(d) = req["destinationCidrBlock"].as_str().or(req["destinationIpv6CidrBlock"].as_str()) {
        let target = ["gatewayId", "natGatewayId", "networkInterfaceId", "instanceId", "transitGatewayId"]
            .iter()
            .find_map(|k| req[*k].as_str());
        parts.push(match target {
            Some(t) => format!("{d} -> {t}"),
            None => d.to_string(),
        });
    }
    if let Some(ip) = req["publicIp"].as_str() {
        parts.push(ip.to_string());
    }
    let detail = (!parts.is_empty()).then(|| parts.join("; "));
    (detail, ports, egress)
}

fn trail_event(e: TrailEventJ) -> TrailEvent {
    let raw: Value = e.cloud_trail_event.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
    let mut resources: Vec<String> = e.resources.into_iter().filter_map(|r| r.resource_name).collect();
    request_ids(&raw["requestParameters"], "", &mut resources);
    let (detail, ports, egress) = describe_request(&e.event_name, &raw["requestParameters"]);
    let actor = e.username.or_else(|| {
        let id = &raw["userIdentity"];
        id["arn"].as_str().and_then(|a| a.rsplit('/').next()).or(id["principalId"].as_str()).map(str::to_string)
    });
    let read_only = match e.read_only.as_ref().or(raw.get("readOnly")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => {
            e.event_name.starts_with("Describe") || e.event_name.starts_with("Get") || e.event_name.starts_with("List")
        }
    };
    TrailEvent {
        event_id: e.event_id,
        name: e.event_name,
        time: e.event_time.0,
        actor,
        read_only,
        resources,
        detail,
        ports,
        egress,
    }
}

fn finding(f: FindingJ) -> Finding {
    let details = f.resource.instance_details.unwrap_or_default();
    let addresses = details
        .network_interfaces
        .into_iter()
        .flat_map(|n| [n.public_ip, n.private_ip_address, n.network_interface_id])
        .flatten()
        .collect();
    let direction = f.service.action.and_then(|a| a.network_connection_action).and_then(|c| c.connection_direction);
    Finding {
        id: f.id,
        type_name: f.type_name,
        severity: f.severity,
        title: f.title,
        instance_id: details.instance_id,
        addresses,
        resource_role: f.service.resource_role,
        direction,
        count: f.service.count.unwrap_or(1),
        first_seen: f.service.event_first_seen.map(|t| t.0),
        last_seen: f.service.event_last_seen.map(|t| t.0),
        archived: f.service.archived,
        detector_id: f.service.detector_id,
    }
}

fn case(c: CaseJ) -> SupportCase {
    let mut text = vec![c.subject.clone()];
    text.extend(c.service_code.clone());
    text.extend(c.category_code.clone());
    text.extend(c.recent_communications.communications.into_iter().map(|m| m.body));
    SupportCase {
        case_id: c.case_id,
        display_id: c.display_id,
        subject: c.subject,
        status: c.status,
        service_code: c.service_code,
        category_code: c.category_code,
        created: c.time_created.map(|t| t.0),
        text: text.join("\n"),
    }
}

/// Accumulates the platform keys of every document.
#[derive(Default)]
pub(crate) struct PlatformAcc {
    events: Vec<HealthEvent>,
    entities: Vec<AffectedEntity>,
    findings: Vec<Finding>,
    trail: Vec<TrailEvent>,
    cases: Vec<SupportCase>,
    taken_at: Option<Timestamp>,
    seen: Vec<&'static str>,
}

/// Reads each entry on its own; a bad one becomes a note naming file, key and index.
fn lenient<T: DeserializeOwned>(
    file: &str,
    key: &str,
    v: &Value,
    notes: &mut Vec<String>,
) -> Result<Vec<T>, ParseError> {
    let Value::Array(list) = v else {
        return Err(ParseError::new(file, key, "expected a list"));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match serde_path_to_error::deserialize::<_, T>(item) {
            Ok(x) => out.push(x),
            Err(e) => {
                let path = e.path().to_string();
                let at = if path == "." { String::new() } else { format!(".{path}") };
                notes.push(format!("{file}: {key}[{i}]{at} skipped: {}", e.into_inner()));
            }
        }
    }
    Ok(out)
}

/// Security Hub's get-findings also answers with `Findings`, in its own format (ASFF: a
/// `ProductArn` and a `Types` list; GuardDuty has a `Type` string — both carry `SchemaVersion`).
fn is_security_hub(v: &Value) -> bool {
    v.get("ProductArn").is_some() || v.get("Types").is_some()
}

impl PlatformAcc {
    /// Reads `key` if it is a platform key; `Ok(false)` otherwise.
    pub(crate) fn key(
        &mut self,
        file: &str,
        key: &str,
        v: &Value,
        notes: &mut Vec<String>,
    ) -> Result<bool, ParseError> {
        let Some((k, _)) = PLATFORM_KEYS.iter().find(|(k, _)| *k == key) else {
            return Ok(false);
        };
        match *k {
            "events" => {
                self.events.extend(lenient::<HealthEventJ>(file, k, v, notes)?.into_iter().map(|e| HealthEvent {
                    arn: e.arn,
                    service: e.service,
                    type_code: e.event_type_code,
                    region: e.region,
                    status: e.status_code,
                    start: e.start_time.map(|t| t.0),
                    last_updated: e.last_updated_time.map(|t| t.0),
                }))
            }
            "entities" => {
                self.entities.extend(lenient::<EntityJ>(file, k, v, notes)?.into_iter().map(|e| AffectedEntity {
                    event_arn: e.event_arn,
                    value: e.entity_value,
                    status: e.status_code,
                }))
            }
            "Findings" => {
                if let Value::Array(list) = v
                    && list.iter().any(is_security_hub)
                {
                    notes.push(format!(
                        "{file}: Findings in Security Hub's format are not read; give GuardDuty's own (aws guardduty get-findings)"
                    ));
                    return Ok(true);
                }
                self.findings.extend(lenient::<FindingJ>(file, k, v, notes)?.into_iter().map(finding));
            }
            "Events" => self.trail.extend(lenient::<TrailEventJ>(file, k, v, notes)?.into_iter().map(trail_event)),
            "cases" => self.cases.extend(lenient::<CaseJ>(file, k, v, notes)?.into_iter().map(case)),
            "PortdoctorSnapshot" => {
                let stamp: SnapshotStampJ = serde_path_to_error::deserialize(v).map_err(|e| {
                    ParseError::new(file, format!("PortdoctorSnapshot.{}", e.path()), e.into_inner().to_string())
                })?;
                self.taken_at = Some(stamp.taken_at.0);
            }
            _ => return Ok(false),
        }
        if !self.seen.contains(k) {
            self.seen.push(k);
        }
        Ok(true)
    }

    /// What was read; a key never seen is `Failed` when live collection recorded why, else
    /// `NotCollected`.
    pub(crate) fn finish(self, failed: &BTreeMap<String, portdoctor_model::Missing>) -> PlatformEvidence {
        let seen = self.seen;
        fn signal<T>(
            seen: &[&str],
            failed: &BTreeMap<String, portdoctor_model::Missing>,
            key: &str,
            v: Vec<T>,
        ) -> Signal<Vec<T>> {
            if seen.contains(&key) {
                Signal::Known(v)
            } else if let Some(m) = failed.get(key) {
                Signal::Failed(m.clone())
            } else {
                Signal::NotCollected
            }
        }
        PlatformEvidence {
            health_events: signal(&seen, failed, "events", self.events),
            health_entities: signal(&seen, failed, "entities", self.entities),
            findings: signal(&seen, failed, "Findings", self.findings),
            trail: signal(&seen, failed, "Events", self.trail),
            cases: signal(&seen, failed, "cases", self.cases),
            taken_at: self.taken_at,
        }
    }
}

/// How to get a platform source that live collection could not read.
pub(crate) fn remedy(key: &str, action: &str, outcome: &str) -> Option<String> {
    let r = match (key, outcome) {
        ("events" | "entities", "subscription-required") => "the AWS Health API needs a Business, Enterprise On-Ramp or Enterprise support plan. Without it the abuse notice is in the e-mail sent to the account's security contact (and root e-mail), on the AWS Health Dashboard, and on EventBridge as an \"AWS Health Abuse Event\" (source aws.health, service ABUSE) on any plan".to_string(),
        ("cases", "subscription-required") => "the AWS Support API needs a Business, Enterprise On-Ramp or Enterprise support plan; read the cases in the Support Center console instead".to_string(),
        ("Findings", "not-enabled") => "GuardDuty is not enabled in this region, so nothing watched for compromise: enable it (aws guardduty create-detector --enable) — it only sees activity from then on".to_string(),
        (_, "permission-denied") => format!("grant {action} to the credentials portdoctor uses (docs/iam-policy.json lists every action it calls)"),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests;
