//! A local endpoint that answers AWS Health, GuardDuty, CloudTrail and Support with recorded
//! responses over each service's real wire protocol, for the services moto does not implement
//! (FACTS.md): Health in Smithy RPC v2 CBOR (timestamps as CBOR tag 1), GuardDuty in REST-JSON
//! (camelCase members), CloudTrail and Support in AWS JSON 1.1 (`X-Amz-Target`, epoch-second
//! timestamps). The SDK's own signing, routing and deserialisation run against it.
//!
//! The responses are the AWS CLI documents of a case folder (the shape `snapshot aws` writes),
//! re-encoded for the wire, so one recording serves the snapshot test and the live test alike.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What the endpoint answers, and what it was asked.
pub struct Recorded {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

/// How the endpoint answers.
#[derive(Clone)]
pub struct Answers {
    /// CLI documents by top-level key (`events`, `entities`, `Findings`, `Events`, `cases`).
    pub docs: HashMap<String, Value>,
    /// Health and Support answer SubscriptionRequiredException (no Business support plan).
    pub no_support_plan: bool,
    /// GuardDuty has no detector in the region.
    pub no_detector: bool,
}

impl Answers {
    /// Reads every platform document of a folder, replacing ids (`from` → `to`) so the recording
    /// names the resources of the account under test.
    pub fn from_folder(dir: &Path, replace: &[(&str, &str)]) -> Answers {
        let mut docs = HashMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let mut text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (from, to) in replace {
                text = text.replace(from, to);
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            for key in ["events", "entities", "Findings", "Events", "cases"] {
                if let Some(list) = v.get(key) {
                    docs.insert(key.to_string(), list.clone());
                }
            }
        }
        Answers { docs, no_support_plan: false, no_detector: false }
    }
}

pub fn serve(answers: Answers) -> Recorded {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (answers, seen) = (answers.clone(), seen.clone());
            std::thread::spawn(move || connection(conn, &answers, &seen));
        }
    });
    Recorded { url, requests }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
}

fn connection(conn: TcpStream, answers: &Answers, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0usize);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Request { method, path, headers };
        let (status, content_type, extra, payload) = answer(&req, answers, seen);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n",
            payload.len()
        );
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(&payload)).is_err() {
            return;
        }
    }
}

type Response = (&'static str, &'static str, String, Vec<u8>);

fn json_response(status: &'static str, content_type: &'static str, v: &Value) -> Response {
    (status, content_type, String::new(), v.to_string().into_bytes())
}

fn answer(req: &Request, a: &Answers, seen: &Mutex<Vec<String>>) -> Response {
    let doc = |k: &str| a.docs.get(k).cloned().unwrap_or_else(|| json!([]));
    // AWS JSON 1.1: the operation is in X-Amz-Target.
    if let Some(target) = req.headers.get("x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or("").to_string();
        seen.lock().unwrap().push(format!("json1.1 {target}"));
        let ct = "application/x-amz-json-1.1";
        return match op.as_str() {
            "LookupEvents" => {
                let events: Vec<Value> = doc("Events")
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e["EventTime"] = json!(epoch(&e["EventTime"]));
                        e
                    })
                    .collect();
                json_response("200 OK", ct, &json!({"Events": events}))
            }
            "DescribeCases" if a.no_support_plan => json_response(
                "400 Bad Request",
                ct,
                &json!({"__type": "SubscriptionRequiredException", "message": "AWS Premium Support Subscription is required to use this service."}),
            ),
            "DescribeCases" => json_response("200 OK", ct, &json!({"cases": doc("cases")})),
            _ => json_response("400 Bad Request", ct, &json!({"__type": "UnknownOperationException"})),
        };
    }
    // Smithy RPC v2 CBOR: /service/<service>/operation/<op>, `smithy-protocol: rpc-v2-cbor`.
    if let Some(op) = req.path.strip_prefix("/service/AWSHealth_20160804/operation/") {
        seen.lock().unwrap().push(format!(
            "cbor {op} smithy-protocol={}",
            req.headers.get("smithy-protocol").map(String::as_str).unwrap_or("-")
        ));
        let (status, body) = match op {
            _ if a.no_support_plan => (
                "400 Bad Request",
                json!({"__type": "com.amazonaws.health#SubscriptionRequiredException", "message": "The AWS Premium Support Subscription is required to use this service."}),
            ),
            "DescribeEvents" => ("200 OK", json!({"events": doc("events")})),
            "DescribeAffectedEntities" => ("200 OK", json!({"entities": doc("entities")})),
            _ => ("400 Bad Request", json!({"__type": "UnknownOperationException"})),
        };
        let mut e = minicbor::Encoder::new(Vec::new());
        cbor(&mut e, &body, "");
        return (status, "application/cbor", "smithy-protocol: rpc-v2-cbor\r\n".into(), e.into_writer());
    }
    // GuardDuty REST-JSON: the operation is the method and path.
    seen.lock().unwrap().push(format!("rest-json {} {}", req.method, req.path));
    let ct = "application/json";
    let path = req.path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let findings = doc("Findings");
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["detector"]) => {
            let ids: Vec<Value> = if a.no_detector {
                vec![]
            } else {
                let id = findings.get(0).and_then(|f| f["Service"]["DetectorId"].as_str()).unwrap_or("d-1");
                vec![json!(id)]
            };
            json_response("200 OK", ct, &json!({"detectorIds": ids}))
        }
        ("POST", ["detector", _, "findings"]) => {
            let ids: Vec<Value> = findings.as_array().unwrap().iter().map(|f| f["Id"].clone()).collect();
            json_response("200 OK", ct, &json!({"findingIds": ids}))
        }
        ("POST", ["detector", _, "findings", "get"]) => {
            json_response("200 OK", ct, &json!({"findings": camel_case(&findings)}))
        }
        _ => json_response("404 Not Found", ct, &json!({"message": "not recorded"})),
    }
}

/// ISO text → epoch seconds (AWS JSON 1.1 and CBOR carry timestamps as numbers).
fn epoch(v: &Value) -> f64 {
    let s = v.as_str().unwrap_or("");
    portdoctor_model::time::Timestamp::parse(s).map(|t| t.0 as f64).unwrap_or(0.0)
}

/// GuardDuty's wire names are the CLI's with a lower-case first letter.
fn camel_case(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = c.next().map(|f| f.to_ascii_lowercase().to_string() + c.as_str()).unwrap_or_default();
                    (key, camel_case(v))
                })
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// JSON → CBOR; members named `…Time` are timestamps: tag 1 around epoch seconds.
fn cbor(e: &mut minicbor::Encoder<Vec<u8>>, v: &Value, key: &str) {
    match v {
        Value::Null => {
            e.null().unwrap();
        }
        Value::Bool(b) => {
            e.bool(*b).unwrap();
        }
        Value::Number(n) => {
            match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => e.i64(i).unwrap(),
                (None, Some(f)) => e.f64(f).unwrap(),
                _ => e.null().unwrap(),
            };
        }
        Value::String(s) if key.ends_with("Time") => {
            e.tag(minicbor::data::Tag::new(1)).unwrap().f64(epoch(&json!(s))).unwrap();
        }
        Value::String(s) => {
            e.str(s).unwrap();
        }
        Value::Array(a) => {
            e.array(a.len() as u64).unwrap();
            for x in a {
                cbor(e, x, "");
            }
        }
        Value::Object(m) => {
            e.map(m.len() as u64).unwrap();
            for (k, x) in m {
                e.str(k).unwrap();
                cbor(e, x, k);
            }
        }
    }
}
