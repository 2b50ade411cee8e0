//! `ip -j addr show` and `ip -j [-6] route show table all` (iproute2's JSON output).

use crate::ParseError;
use portdoctor_model::host::{IfAddr, Interface, PolicyRule, Route, RouteType, XdpProg};
use portdoctor_model::net::{Cidr, Family};
use serde_json::Value;
use std::net::IpAddr;

fn parse_array<'a>(file: &str, text: &'a str, doc: &'a mut Value) -> Result<&'a Vec<Value>, ParseError> {
    *doc = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {}", e.line()), format!("not valid JSON: {e}")))?;
    doc.as_array().ok_or_else(|| ParseError::new(file, "(top level)", "expected a JSON array"))
}

fn str_field<'a>(file: &str, path: &str, obj: &'a Value, key: &str) -> Result<Option<&'a str>, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ParseError::new(file, format!("{path}.{key}"), "expected a string")),
    }
}

fn ip_field(file: &str, path: &str, obj: &Value, key: &str) -> Result<Option<IpAddr>, ParseError> {
    str_field(file, path, obj, key)?
        .map(|s| {
            s.parse().map_err(|_| {
                ParseError::new(file, format!("{path}.{key}"), format!("{} is not an IP address", crate::excerpt(s)))
            })
        })
        .transpose()
}

fn bool_field(file: &str, path: &str, obj: &Value, key: &str) -> Result<Option<bool>, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ParseError::new(file, format!("{path}.{key}"), "expected true or false")),
    }
}

/// An integer field that must fit `T` (an ifindex in u32, a prefix length in u8, …).
fn int_field<T: TryFrom<i64>>(file: &str, path: &str, obj: &Value, key: &str) -> Result<Option<T>, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().and_then(|n| T::try_from(n).ok()).map(Some).ok_or_else(|| {
            ParseError::new(
                file,
                format!("{path}.{key}"),
                format!("{} is not an integer in range", crate::excerpt(&v.to_string())),
            )
        }),
    }
}

/// A table as `ip -j` writes it: a name or a number.
fn table_field(file: &str, path: &str, obj: &Value) -> Result<Option<String>, ParseError> {
    match obj.get("table") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(ParseError::new(file, format!("{path}.table"), "expected a table name or number")),
    }
}

fn u64_field(file: &str, path: &str, obj: &Value, key: &str) -> Result<Option<u64>, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| ParseError::new(file, format!("{path}.{key}"), "expected a non-negative integer")),
    }
}

/// Parses `ip -j addr show`.
pub fn parse_addr(file: &str, text: &str) -> Result<Vec<Interface>, ParseError> {
    let mut doc = Value::Null;
    let links = parse_array(file, text, &mut doc)?;
    let mut out = Vec::with_capacity(links.len());
    for (i, link) in links.iter().enumerate() {
        let path = format!("[{i}]");
        let index = u64_field(file, &path, link, "ifindex")?
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| ParseError::new(file, format!("{path}.ifindex"), "missing or out of range"))?;
        let name = str_field(file, &path, link, "ifname")?
            .ok_or_else(|| ParseError::new(file, format!("{path}.ifname"), "missing"))?
            .to_string();
        let flags: Vec<&str> = match link.get("flags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(f)) => f
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()
                .ok_or_else(|| ParseError::new(file, format!("{path}.flags"), "expected a list of flag names"))?,
            Some(_) => return Err(ParseError::new(file, format!("{path}.flags"), "expected a list of flag names")),
        };
        let up = flags.contains(&"UP");
        let mut addrs = Vec::new();
        if let Some(infos) = link.get("addr_info") {
            let infos = infos
                .as_array()
                .ok_or_else(|| ParseError::new(file, format!("{path}.addr_info"), "expected an array"))?;
            for (j, info) in infos.iter().enumerate() {
                let apath = format!("{path}.addr_info[{j}]");
                let Some(addr) = ip_field(file, &apath, info, "local")? else { continue };
                let prefix =
                    u64_field(file, &apath, info, "prefixlen")?.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
                let prefix = u8::try_from(prefix).ok().filter(|p| Cidr::new(addr, *p).is_some()).ok_or_else(|| {
                    ParseError::new(file, format!("{apath}.prefixlen"), "out of range for the address family")
                })?;
                addrs.push(IfAddr {
                    addr,
                    prefix,
                    scope: str_field(file, &apath, info, "scope")?.unwrap_or("global").to_string(),
                    secondary: bool_field(file, &apath, info, "secondary")?.unwrap_or(false),
                });
            }
        }
        let peer = int_field::<i32>(file, &path, link, "link_netnsid")?.zip(int_field::<u32>(
            file,
            &path,
            link,
            "link_index",
        )?);
        let master = str_field(file, &path, link, "master")?.map(str::to_string);
        let xdp = xdp_progs(file, &path, link)?;
        out.push(Interface { index, name, up, addrs, peer, master, xdp });
    }
    Ok(out)
}

/// The XDP programs of one link: `"xdp": {"mode": 2, "prog": {"id", "name", "tag"}, "attached":
/// [{"mode", "prog"}]}` (iproute2's print_xdp; `attached` lists each when several are loaded in
/// different modes). Modes are the kernel's XDP_ATTACHED_*: 1 driver, 2 generic (skb), 3
/// offloaded, 4 several.
fn xdp_progs(file: &str, path: &str, link: &Value) -> Result<Vec<XdpProg>, ParseError> {
    let Some(xdp) = link.get("xdp").filter(|x| !x.is_null()) else { return Ok(vec![]) };
    let xpath = format!("{path}.xdp");
    let one = |p: &str, v: &Value| -> Result<Option<XdpProg>, ParseError> {
        let mode = match int_field::<u8>(file, p, v, "mode")? {
            Some(0) | None => return Ok(None),
            Some(1) => "native".to_string(),
            Some(2) => "generic".to_string(),
            Some(3) => "offload".to_string(),
            Some(n) => format!("kernel mode {n}"),
        };
        let prog = v.get("prog").cloned().unwrap_or(Value::Null);
        let ppath = format!("{p}.prog");
        Ok(Some(XdpProg {
            mode,
            id: int_field::<u32>(file, &ppath, &prog, "id")?,
            name: str_field(file, &ppath, &prog, "name")?.map(str::to_string),
            tag: str_field(file, &ppath, &prog, "tag")?.map(str::to_string),
        }))
    };
    let mut out = Vec::new();
    match xdp.get("attached") {
        Some(Value::Array(list)) => {
            for (i, a) in list.iter().enumerate() {
                out.extend(one(&format!("{xpath}.attached[{i}]"), a)?);
            }
        }
        Some(_) => return Err(ParseError::new(file, format!("{xpath}.attached"), "expected an array")),
        None => out.extend(one(&xpath, xdp)?),
    }
    // An attachment the listing shows without its program still drops packets as it likes.
    if out.is_empty() && int_field::<u8>(file, &xpath, xdp, "mode")?.is_some_and(|m| m != 0) {
        out.push(XdpProg { mode: "unknown".into(), id: None, name: None, tag: None });
    }
    Ok(out)
}

/// Parses `ip -j route show table all` (`family` says which, since `default` has no address).
pub fn parse_routes(file: &str, text: &str, family: Family) -> Result<Vec<Route>, ParseError> {
    let mut doc = Value::Null;
    let routes = parse_array(file, text, &mut doc)?;
    let mut out = Vec::with_capacity(routes.len());
    for (i, r) in routes.iter().enumerate() {
        let path = format!("[{i}]");
        let dst_text =
            str_field(file, &path, r, "dst")?.ok_or_else(|| ParseError::new(file, format!("{path}.dst"), "missing"))?;
        let dst = if dst_text == "default" {
            Cidr::default_route(family)
        } else {
            // Multicast and other odd routes keep their text; anything unparsable is an error.
            dst_text.parse::<Cidr>().map_err(|e| ParseError::new(file, format!("{path}.dst"), e))?
        };
        let kind = match str_field(file, &path, r, "type")?.unwrap_or("unicast") {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "broadcast" => RouteType::Broadcast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            _ => RouteType::Other,
        };
        let table = table_field(file, &path, r)?.unwrap_or_else(|| "main".to_string());
        out.push(Route {
            table,
            kind,
            dst,
            dev: str_field(file, &path, r, "dev")?.map(str::to_string),
            gateway: ip_field(file, &path, r, "gateway")?,
            prefsrc: ip_field(file, &path, r, "prefsrc")?,
            metric: int_field::<u32>(file, &path, r, "metric")?.unwrap_or(0),
        });
    }
    Ok(out)
}

/// Parses `ip -j -4 rule show`.
pub fn parse_rules(file: &str, text: &str) -> Result<Vec<PolicyRule>, ParseError> {
    let mut doc = Value::Null;
    let rules = parse_array(file, text, &mut doc)?;
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let path = format!("[{i}]");
        let prefix = |addr_key: &str, len_key: &str| -> Result<Option<Cidr>, ParseError> {
            let Some(a) = str_field(file, &path, r, addr_key)? else { return Ok(None) };
            if a == "all" {
                return Ok(None);
            }
            let addr: IpAddr = a.parse().map_err(|_| {
                ParseError::new(file, format!("{path}.{addr_key}"), format!("{} is not an address", crate::excerpt(a)))
            })?;
            let len = int_field::<u8>(file, &path, r, len_key)?;
            let cidr = match len {
                Some(l) => Cidr::new(addr, l),
                None => Some(Cidr::host(addr)),
            };
            cidr.map(Some).ok_or_else(|| ParseError::new(file, format!("{path}.{len_key}"), "prefix too long"))
        };
        let known = [
            "priority",
            "src",
            "srclen",
            "dst",
            "dstlen",
            "iif",
            "oif",
            "table",
            "not",
            "iif_detached",
            "oif_detached",
            "action",
            "protocol",
            "flags",
        ];
        let other: Vec<String> = r
            .as_object()
            .map(|o| o.keys().filter(|k| !known.contains(&k.as_str())).map(|k| format!("{k} {}", o[k])).collect())
            .unwrap_or_default();
        let table = match (table_field(file, &path, r)?, str_field(file, &path, r, "action")?) {
            (Some(t), _) => t,
            (None, Some(a)) => a.to_string(),
            (None, None) => "unknown".into(),
        };
        out.push(PolicyRule {
            priority: int_field::<u32>(file, &path, r, "priority")?.unwrap_or(0),
            not: r.get("not").is_some(),
            src: prefix("src", "srclen")?,
            dst: prefix("dst", "dstlen")?,
            iif: str_field(file, &path, r, "iif")?.map(str::to_string),
            oif: str_field(file, &path, r, "oif")?.map(str::to_string),
            other: (!other.is_empty()).then(|| other.join(" ")),
            table,
        });
    }
    out.sort_by_key(|r| r.priority);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"},{"family":"inet6","local":"::1","prefixlen":128,"scope":"host"}]},{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"addr_info":[{"family":"inet","local":"10.0.1.10","prefixlen":24,"broadcast":"10.0.1.255","scope":"global","label":"eth0"},{"family":"inet","local":"10.0.1.11","prefixlen":24,"scope":"global","secondary":true,"label":"eth0"}]},{"ifindex":5,"ifname":"eth1","flags":["BROADCAST"],"addr_info":[]}]"#;

    #[test]
    fn reads_interfaces() {
        let ifs = parse_addr("ip-addr.json", ADDR).unwrap();
        assert_eq!(ifs.len(), 3);
        assert_eq!(ifs[1].name, "eth0");
        assert!(ifs[1].up);
        assert!(!ifs[2].up);
        assert_eq!(ifs[1].addrs[0].addr.to_string(), "10.0.1.10");
        assert!(ifs[1].addrs[1].secondary);
        assert!(ifs[1].xdp.is_empty());
    }

    /// Recorded from this kernel: `ip link set dev va xdpgeneric obj drop.o sec xdp`, then
    /// `ip -j addr show va`.
    #[test]
    fn reads_attached_xdp_programs() {
        let text = r#"[{"ifindex":3,"link":"vb","ifname":"va","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"xdp":{"mode":2,"prog":{"id":106,"name":"xdp_drop","tag":"b11459a0e11ca14c","jited":1},"attached":[{"mode":2,"prog":{"id":106,"name":"xdp_drop","tag":"b11459a0e11ca14c","jited":1}}]},"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"ba:55:93:a2:64:09","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[]}]"#;
        let ifs = parse_addr("ip-addr.json", text).unwrap();
        assert_eq!(ifs[0].xdp.len(), 1);
        assert_eq!(ifs[0].xdp[0].describe(), "xdp_drop (id 106, generic mode)");
        assert_eq!(ifs[0].xdp[0].tag.as_deref(), Some("b11459a0e11ca14c"));
        // Native and offloaded at once (mode 4, "multi"): both named.
        let multi = r#"[{"ifindex":2,"ifname":"eth0","xdp":{"mode":4,"attached":[{"mode":1,"prog":{"id":7,"name":"fw"}},{"mode":3,"prog":{"id":8}}]}}]"#;
        let ifs = parse_addr("ip-addr.json", multi).unwrap();
        let modes: Vec<&str> = ifs[0].xdp.iter().map(|x| x.mode.as_str()).collect();
        assert_eq!(modes, ["native", "offload"]);
        let e = parse_addr("ip-addr.json", r#"[{"ifindex":2,"ifname":"eth0","xdp":{"mode":"x"}}]"#).unwrap_err();
        assert_eq!(e.field, "[0].xdp.mode");
    }

    #[test]
    fn reads_routes_of_all_tables() {
        let text = r#"[{"dst":"default","gateway":"10.0.1.1","dev":"eth0","flags":[]},{"dst":"10.0.1.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.0.1.10","flags":[]},{"type":"local","dst":"10.0.1.10","dev":"eth0","table":"local","prefsrc":"10.0.1.10","flags":[]},{"type":"blackhole","dst":"192.0.2.0/24","table":100,"flags":[]}]"#;
        let rs = parse_routes("ip-route.json", text, Family::V4).unwrap();
        assert_eq!(rs[0].dst, Cidr::default_route(Family::V4));
        assert_eq!(rs[0].gateway.unwrap().to_string(), "10.0.1.1");
        assert_eq!(rs[1].prefsrc.unwrap().to_string(), "10.0.1.10");
        assert_eq!(rs[2].kind, RouteType::Local);
        assert!(rs[2].dst.is_host());
        assert_eq!(rs[3].table, "100");
        assert_eq!(rs[3].kind, RouteType::Blackhole);
    }

    #[test]
    fn reads_policy_rules() {
        let text = r#"[{"priority":0,"src":"all","table":"local"},{"priority":32763,"src":"all","fwmark":"0x1","iif":"eth1","table":"102"},{"priority":32765,"src":"10.0.2.0","srclen":24,"table":"100"},{"priority":32766,"src":"all","table":"main"}]"#;
        let r = parse_rules("ip-rule.json", text).unwrap();
        assert_eq!(r[2].src.unwrap().to_string(), "10.0.2.0/24");
        assert_eq!(r[2].table, "100");
        assert_eq!(r[1].other.as_deref(), Some("fwmark \"0x1\""));
        assert_eq!(r[1].iif.as_deref(), Some("eth1"));
    }

    #[test]
    fn malformed_input_names_file_and_field() {
        let e = parse_addr("ip-addr.json", "[{\"ifindex\":1}]").unwrap_err();
        assert_eq!(e.to_string(), "ip-addr.json: [0].ifname: missing");
        let e = parse_routes("ip-route.json", "[{\"dst\":\"10.0.0.0/99\"}]", Family::V4).unwrap_err();
        assert!(e.to_string().starts_with("ip-route.json: [0].dst: "), "{e}");
        let e = parse_rules("ip-rule.json", r#"[{"priority":0,"table":{"id":1}}]"#).unwrap_err();
        assert_eq!(e.to_string(), "ip-rule.json: [0].table: expected a table name or number");
        let e = parse_rules("ip-rule.json", r#"[{"priority":5000000000,"table":"main"}]"#).unwrap_err();
        assert_eq!(e.field, "[0].priority");
        let e = parse_rules("ip-rule.json", r#"[{"src":"2001:db8::","srclen":300,"table":"main"}]"#).unwrap_err();
        assert_eq!(e.field, "[0].srclen");
        let e = parse_addr("ip-addr.json", r#"[{"ifindex":1,"ifname":"lo","flags":"UP"}]"#).unwrap_err();
        assert_eq!(e.field, "[0].flags");
        let e = parse_routes("ip-route.json", r#"[{"dst":"default","table":[1]}]"#, Family::V4).unwrap_err();
        assert_eq!(e.field, "[0].table");
        let e = parse_addr("ip-addr.json", "[{\"ifindex\":1,").unwrap_err();
        assert!(e.to_string().starts_with("ip-addr.json: line 1: not valid JSON"), "{e}");
    }
}
