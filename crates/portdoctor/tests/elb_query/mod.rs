//! Elastic Load Balancing's Query protocol, spoken by hand to moto: the tests build load
//! balancers without linking the ELB SDK crates a second time (only portdoctor-aws does, and the
//! SDK takes minutes to build). moto reads the region and service from the credential scope and
//! tells v2 from Classic by `Version`; it does not check the signature.

use std::io::{Read, Write};
use std::net::TcpStream;

/// elbv2 (ALB, NLB) and Classic, as their `Version` parameter names them.
pub const V2: &str = "2015-12-01";
pub const CLASSIC: &str = "2012-06-01";

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One call; panics with moto's answer when it is not a 200 (a failed call is a failed test).
pub fn call(endpoint: &str, region: &str, version: &str, action: &str, params: &[(&str, &str)]) -> String {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut body = format!("Action={action}&Version={version}");
    for (k, v) in params {
        body.push_str(&format!("&{}={}", form_encode(k), form_encode(v)));
    }
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{region}/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0\r\n\
         X-Amz-Date: 20260101T000000Z\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut conn = TcpStream::connect(addr).expect("moto listens");
    conn.write_all(request.as_bytes()).expect("request sent");
    let mut response = String::new();
    conn.read_to_string(&mut response).expect("moto answers");
    let (head, xml) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{action}: {response}");
    xml.to_string()
}

/// The text of the first `<tag>` element of an answer.
pub fn first(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).unwrap_or_else(|| panic!("<{tag}> not closed in {xml}"));
    xml[start..start + end].to_string()
}
