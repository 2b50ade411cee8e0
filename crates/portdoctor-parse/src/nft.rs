//! `nft -j list ruleset` (libnftables JSON, nft(8) / libnftables-json(5)) → netfilter tables.
//! This version reads the table and base-chain skeleton; a native table with base chains whose
//! rules are not modeled yet is reported as unmodeled, so the walk says unknown instead of
//! guessing.

use crate::ParseError;
use portdoctor_model::firewall::{FwFamily, Netfilter, Table};
use serde_json::Value;

fn family(s: &str) -> FwFamily {
    match s {
        "ip" => FwFamily::Ip,
        "ip6" => FwFamily::Ip6,
        "inet" => FwFamily::Inet,
        _ => FwFamily::Other,
    }
}

pub fn parse_ruleset(file: &str, text: &str) -> Result<Netfilter, ParseError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {}", e.line()), format!("not valid JSON: {e}")))?;
    let items = v.get("nftables").and_then(Value::as_array).ok_or_else(|| {
        ParseError::new(file, "nftables", "expected {\"nftables\": [...]} as `nft -j list ruleset` prints")
    })?;
    let mut nf = Netfilter::default();
    let mut with_hooks: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(t) = item.get("table") {
            let fam = t
                .get("family")
                .and_then(Value::as_str)
                .ok_or_else(|| ParseError::new(file, format!("nftables[{i}].table.family"), "missing"))?;
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ParseError::new(file, format!("nftables[{i}].table.name"), "missing"))?;
            if family(fam) != FwFamily::Other {
                nf.tables.push(Table {
                    backend: portdoctor_model::firewall::Backend::Nftables,
                    family: family(fam),
                    name: name.into(),
                    chains: vec![],
                });
            }
        } else if let Some(c) = item.get("chain") {
            if c.get("hook").is_some() {
                let fam = c.get("family").and_then(Value::as_str).unwrap_or("?");
                let table = c.get("table").and_then(Value::as_str).unwrap_or("?");
                let key = format!("{fam} {table}");
                if matches!(family(fam), FwFamily::Ip | FwFamily::Ip6 | FwFamily::Inet) && !with_hooks.contains(&key) {
                    with_hooks.push(key);
                }
            }
        }
    }
    // Tables without base chains never see a packet; the others are not modeled yet.
    nf.tables.clear();
    nf.unmodeled = with_hooks;
    Ok(nf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_tables_with_hooks_are_reported_unmodeled() {
        let text = r#"{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"inet","name":"filter","handle":1}},{"chain":{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}},{"table":{"family":"ip","name":"idle","handle":2}}]}"#;
        let nf = parse_ruleset("nft-ruleset.json", text).unwrap();
        assert_eq!(nf.unmodeled, ["inet filter"]);
        assert!(parse_ruleset("nft-ruleset.json", "{}").is_err());
    }
}
