//! `nft -j list ruleset` (libnftables-json(5)) → netfilter tables: base chains with hook,
//! priority and policy; rules of matches and statements; named sets. Expressions this version
//! does not model become `Match::Unknown` / `Action::Unknown` with their JSON, so the walk can
//! say "unknown" and name them. Tables of families that see packets before IP (netdev) are
//! reported as unmodeled.

use crate::ParseError;
use portdoctor_model::firewall::{
    Action, AddrSetDef, AddrType, Backend, BaseInfo, Chain, ETHERTYPE_IPV4, ETHERTYPE_IPV6, FwFamily, Hook, MapKey,
    MapVal, MarkSet, Match, Neg, Netfilter, Rule, Table, ct, icmp_code, icmp_type,
};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::net::Cidr;
use serde_json::Value;
use std::collections::HashMap;

fn family(s: &str) -> FwFamily {
    match s {
        "ip" => FwFamily::Ip,
        "ip6" => FwFamily::Ip6,
        "inet" => FwFamily::Inet,
        "netdev" => FwFamily::Netdev,
        _ => FwFamily::Other,
    }
}

fn hook(s: &str) -> Option<Hook> {
    Some(match s {
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        "ingress" => Hook::Ingress,
        _ => return None,
    })
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 160 { format!("{}…", &s[..s.char_indices().nth(160).map(|(i, _)| i).unwrap_or(s.len())]) } else { s }
}

/// A value or set of values on the right of a match, as a flat list.
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(o) if o.contains_key("set") => {
            o["set"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
        }
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn cidr_of(v: &Value) -> Option<Vec<Cidr>> {
    match v {
        Value::String(s) => s.parse().ok().map(|c| vec![c]),
        Value::Object(o) if o.contains_key("prefix") => {
            let p = &o["prefix"];
            Cidr::new(p.get("addr")?.as_str()?.parse().ok()?, u8::try_from(p.get("len")?.as_u64()?).ok()?)
                .map(|c| vec![c])
        }
        Value::Object(o) if o.contains_key("range") => {
            let r = o["range"].as_array()?;
            crate::iptables::range_to_cidrs(r.first()?.as_str()?, r.get(1)?.as_str()?)
        }
        Value::Object(o) if o.contains_key("elem") => cidr_of(o["elem"].get("val")?),
        _ => None,
    }
}

fn ports_of(v: &Value) -> Option<Vec<(u16, u16)>> {
    items(v)
        .into_iter()
        .map(|i| match i {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()).map(|p| (p, p)),
            Value::Object(o) if o.contains_key("range") => {
                let r = o["range"].as_array()?;
                Some((u16::try_from(r.first()?.as_u64()?).ok()?, u16::try_from(r.get(1)?.as_u64()?).ok()?))
            }
            _ => None,
        })
        .collect()
}

/// A protocol as nft prints it: the name /etc/protocols gives the number, or the number.
fn proto_of(s: &str) -> Option<u8> {
    crate::iptables::protocol_number(s)
}

/// What a payload expression on the left implies about the packet (nft adds these
/// dependencies itself when it loads the rule, and leaves them out when it prints it): a
/// transport header implies its protocol, an `ip`/`ip6` header its family. A rule on another
/// protocol's header (`icmpv6 type . icmpv6 code { … }`) is then decided for a TCP flow even
/// when the rest is not modelled.
fn implied_by_payload(left: &Value, out: &mut Vec<Match>) {
    let mut found = Vec::new();
    fn walk<'a>(v: &'a Value, found: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(p) = o.get("payload").and_then(|p| p.get("protocol")).and_then(Value::as_str) {
                    found.push(p);
                }
                o.values().for_each(|x| walk(x, found));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, found)),
            _ => {}
        }
    }
    walk(left, &mut found);
    for p in found {
        let m = match p {
            "ip" => Match::IsIpv6(Neg { negated: false, value: false }),
            "ip6" => Match::IsIpv6(Neg { negated: false, value: true }),
            // nft's `comp` header is IPComp (/etc/protocols: ipcomp).
            "comp" => Match::Proto(Neg { negated: false, value: 108 }),
            "tcp" | "udp" | "udplite" | "sctp" | "dccp" | "icmp" | "icmpv6" | "esp" | "ah" | "igmp" => {
                match proto_of(p) {
                    Some(n) => Match::Proto(Neg { negated: false, value: n }),
                    None => continue,
                }
            }
            _ => continue,
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
}

/// `icmp[v6] type . icmp[v6] code { T . C, … }` → the (type, code) pairs.
fn icmp_type_code(left: &Value, right: &Value) -> Option<Vec<(u8, u8)>> {
    let parts = left.get("concat")?.as_array()?;
    let field = |i: usize| {
        let p = parts.get(i)?.get("payload")?;
        Some((p.get("protocol")?.as_str()?, p.get("field")?.as_str()?))
    };
    let v6 = match (field(0)?, field(1)?, parts.len()) {
        ((p, "type"), (q, "code"), 2) if p == q && (p == "icmp" || p == "icmpv6") => p == "icmpv6",
        _ => return None,
    };
    let num = |v: &Value, f: fn(&str, bool) -> Option<u8>| {
        v.as_str().and_then(|n| f(n, v6)).or_else(|| v.as_u64().and_then(|n| u8::try_from(n).ok()))
    };
    items(right)
        .into_iter()
        .map(|e| {
            let pair = e.get("concat")?.as_array()?;
            Some((num(pair.first()?, icmp_type)?, num(pair.get(1)?, icmp_code)?))
        })
        .collect()
}

/// Conntrack state names as nft prints them.
fn ct_state_bits(v: &Value) -> Option<u8> {
    items(v).into_iter().try_fold(0u8, |acc, s| {
        Some(
            acc | match s.as_str()? {
                "new" => ct::NEW,
                "established" => ct::ESTABLISHED,
                "related" => ct::RELATED,
                "invalid" => ct::INVALID,
                "untracked" => ct::UNTRACKED,
                _ => return None,
            },
        )
    })
}

/// `meta protocol` values: the link-layer protocol by nft's name or number.
fn ethertype_of(v: &Value) -> Option<u16> {
    match v.as_str() {
        Some("ip") => Some(ETHERTYPE_IPV4),
        Some("ip6") => Some(ETHERTYPE_IPV6),
        Some("arp") => Some(0x0806),
        Some("vlan") => Some(0x8100),
        _ => v.as_u64().and_then(|n| u16::try_from(n).ok()),
    }
}

/// A one-value or set-of-values protocol match (`ip protocol tcp`, `meta l4proto { tcp, udp }`).
fn proto_match(right: &Value, negated: bool) -> Option<Match> {
    let one = |v: &Value| v.as_str().and_then(proto_of).or_else(|| v.as_u64().and_then(|n| u8::try_from(n).ok()));
    match right {
        Value::String(s) if s.starts_with('@') => None,
        Value::Object(o) if o.contains_key("set") => {
            let ps = items(right).into_iter().map(one).collect::<Option<Vec<u8>>>()?;
            Some(Match::ProtoIn(Neg { negated, value: ps }))
        }
        _ => Some(Match::Proto(Neg { negated, value: one(right)? })),
    }
}

/// An interface match by name (`iifname`) or by index (`iif`, which nft -j prints as the
/// name): one name, or a set of names.
fn iface_match(right: &Value, negated: bool, inbound: bool) -> Option<Match> {
    match right {
        Value::String(s) if !s.starts_with('@') => {
            let n = Neg { negated, value: s.clone() };
            Some(if inbound { Match::InIface(n) } else { Match::OutIface(n) })
        }
        // nft prints an index no interface holds any more as a number: no packet comes in or
        // goes out by it (an empty list matches nothing).
        Value::Number(_) => {
            let n = Neg { negated, value: vec![] };
            Some(if inbound { Match::InIfaceIn(n) } else { Match::OutIfaceIn(n) })
        }
        Value::Object(o) if o.contains_key("set") => {
            let names = items(right).into_iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()?;
            let n = Neg { negated, value: names };
            Some(if inbound { Match::InIfaceIn(n) } else { Match::OutIfaceIn(n) })
        }
        _ => None,
    }
}

/// A rate limit or a connection count (`limit rate [over] R/unit burst B`, `ct count [over] N`):
/// state no snapshot holds, decided for one probe connection and said as load-dependent.
fn traffic(key: &str, val: &Value) -> Option<Match> {
    let over = val.get("inv").and_then(Value::as_bool).unwrap_or(false);
    let (text, under_load) = match key {
        "limit" => {
            let rate = val.get("rate")?.as_u64()?;
            let per = val.get("per").and_then(Value::as_str).unwrap_or("second");
            let unit = val.get("rate_unit").and_then(Value::as_str).unwrap_or("packets");
            let burst = val.get("burst").and_then(Value::as_u64).unwrap_or(5);
            let rate = if unit == "packets" { format!("{rate}/{per}") } else { format!("{rate} {unit}/{per}") };
            let text = format!("limit rate {}{rate} burst {burst}", if over { "over " } else { "" });
            let load = if over {
                format!(
                    "matches only above {rate} (burst {burst}) of the packets it sees, which one probe does not reach"
                )
            } else {
                format!("matches up to {rate} (burst {burst}) of the packets it sees, then stops matching")
            };
            (text, load)
        }
        "ct count" => {
            let n = val.get("val")?.as_u64()?;
            let text = format!("ct count {}{n}", if over { "over " } else { "" });
            let load = if over {
                format!("matches once more than {n} connections it counts are open (the snapshot holds no count)")
            } else {
                format!("matches while at most {n} connections it counts are open (the snapshot holds no count)")
            };
            (text, load)
        }
        _ => return None,
    };
    Some(Match::Traffic { probe: !over, text, under_load })
}

fn tcp_flags(v: &Value) -> Option<u8> {
    items(v).into_iter().try_fold(0u8, |acc, f| {
        Some(
            acc | match f.as_str()? {
                "fin" => 1,
                "syn" => 2,
                "rst" => 4,
                "psh" => 8,
                "ack" => 16,
                "urg" => 32,
                _ => return None,
            },
        )
    })
}

/// One `match` expression → matches (a payload match implies its protocol and family).
fn parse_match(m: &Value, out: &mut Vec<Match>) {
    let unknown = || Match::Unknown(compact(m));
    let negated = m.get("op").and_then(Value::as_str) == Some("!=");
    let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
        out.push(unknown());
        return;
    };
    let set_ref = right.as_str().and_then(|s| s.strip_prefix('@')).map(str::to_string);
    implied_by_payload(left, out);
    // `tcp dport >= 1024`: an ordering on a port is a range; on anything else it is not modelled
    // (taking it as equality would be wrong).
    if let Some(op @ ("<" | ">" | "<=" | ">=")) = m.get("op").and_then(Value::as_str) {
        let field = left.get("payload").and_then(|p| p.get("field")).and_then(Value::as_str);
        let n = right.as_u64().and_then(|n| u16::try_from(n).ok());
        let range = n.and_then(|n| match op {
            "<" => n.checked_sub(1).map(|h| (0, h)),
            "<=" => Some((0, n)),
            ">" => n.checked_add(1).map(|l| (l, u16::MAX)),
            _ => Some((n, u16::MAX)),
        });
        out.push(match (field, range) {
            (Some("dport"), Some(r)) => Match::DstPort(Neg { negated: false, value: vec![r] }),
            (Some("sport"), Some(r)) => Match::SrcPort(Neg { negated: false, value: vec![r] }),
            // `tcp dport < 0`: nothing.
            (Some("dport" | "sport"), None) if n.is_some() => Match::ProtoIn(Neg { negated: false, value: vec![] }),
            _ => unknown(),
        });
        return;
    }
    if let Some(pairs) = icmp_type_code(left, right) {
        out.push(Match::IcmpTypeCode(Neg { negated, value: pairs }));
        return;
    }
    if let Some(p) = left.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let field = p.get("field").and_then(Value::as_str).unwrap_or("");
        match (proto, field) {
            // The IPv4 protocol field and IPv6's first next header: the transport protocol (for
            // a packet without extension headers, as a probe's TCP or UDP is).
            ("ip", "protocol") | ("ip6", "nexthdr") => out.push(proto_match(right, negated).unwrap_or_else(unknown)),
            // The protocol is implied above; `th` (any transport header with ports: fw4's
            // `meta l4proto { tcp, udp } th dport 53`) implies none.
            ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "dport" | "sport") => match ports_of(right) {
                Some(r) => out.push(if field == "dport" {
                    Match::DstPort(Neg { negated, value: r })
                } else {
                    Match::SrcPort(Neg { negated, value: r })
                }),
                None => out.push(unknown()),
            },
            ("icmp" | "icmpv6", "type") => {
                let v6 = proto == "icmpv6";
                let types: Option<Vec<u8>> = items(right)
                    .into_iter()
                    .map(|v| {
                        v.as_str()
                            .and_then(|n| icmp_type(n, v6))
                            .or_else(|| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                    })
                    .collect();
                match types {
                    Some(t) if set_ref.is_none() && !t.is_empty() => {
                        out.push(Match::IcmpType(Neg { negated, value: t }));
                    }
                    _ => out.push(unknown()),
                }
            }
            ("ip" | "ip6", "saddr" | "daddr") => {
                let src = field == "saddr";
                if let Some(name) = set_ref {
                    out.push(if src {
                        Match::SetSrc(Neg { negated, value: name })
                    } else {
                        Match::SetDst(Neg { negated, value: name })
                    });
                    return;
                }
                let cidrs: Option<Vec<Cidr>> =
                    items(right).into_iter().map(cidr_of).collect::<Option<Vec<_>>>().map(|v| v.concat());
                match cidrs {
                    Some(c) => out.push(if src {
                        Match::Src(Neg { negated, value: c })
                    } else {
                        Match::Dst(Neg { negated, value: c })
                    }),
                    None => out.push(unknown()),
                }
            }
            _ => out.push(unknown()),
        }
        return;
    }
    if let Some(meta) = left.get("meta").and_then(|m| m.get("key")).and_then(Value::as_str) {
        match meta {
            "iifname" | "oifname" | "iif" | "oif" => {
                out.push(iface_match(right, negated, meta.starts_with('i')).unwrap_or_else(unknown))
            }
            "l4proto" => out.push(proto_match(right, negated).unwrap_or_else(unknown)),
            "pkttype" => match right.as_str() {
                Some(t) if set_ref.is_none() => out.push(Match::PktType(Neg { negated, value: t.to_string() })),
                _ => out.push(unknown()),
            },
            // `meta protocol` is the link layer's (ip, ip6, arp …), not the transport.
            "protocol" => match ethertype_of(right) {
                Some(t) if set_ref.is_none() => out.push(Match::EtherType(Neg { negated, value: t })),
                _ => out.push(unknown()),
            },
            "mark" => match right.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) if set_ref.is_none() => out.push(Match::Mark(Neg { negated, value: (v, u32::MAX) })),
                _ => out.push(unknown()),
            },
            "nfproto" => match right.as_str() {
                Some("ipv4") => out.push(Match::IsIpv6(Neg { negated, value: false })),
                Some("ipv6") => out.push(Match::IsIpv6(Neg { negated, value: true })),
                _ => out.push(unknown()),
            },
            _ => out.push(unknown()),
        }
        return;
    }
    if let Some(mask) = mark_mask(left)
        && let Some(v) = right.as_u64().and_then(|v| u32::try_from(v).ok())
    {
        out.push(Match::Mark(Neg { negated, value: (v, mask) }));
        return;
    }
    if let Some(ct) = left.get("ct") {
        let key = ct.get("key").and_then(Value::as_str).unwrap_or("");
        let original = ct.get("dir").and_then(Value::as_str) == Some("original");
        match (key, original) {
            // `ct original ip daddr` (nft ≥ 0.9 prints the family into the key).
            ("daddr" | "ip daddr" | "ip6 daddr", true) => {
                let cidrs: Option<Vec<Cidr>> =
                    items(right).into_iter().map(cidr_of).collect::<Option<Vec<_>>>().map(|v| v.concat());
                match cidrs {
                    Some(c) if set_ref.is_none() => out.push(Match::CtOrigDst(Neg { negated, value: c })),
                    _ => out.push(unknown()),
                }
                return;
            }
            ("proto-dst", true) => {
                match ports_of(right) {
                    Some(r) => out.push(Match::CtOrigDstPort(Neg { negated, value: r })),
                    None => out.push(unknown()),
                }
                return;
            }
            // `ct status dnat`: the connection's destination was translated (a bit test).
            ("status", _) => {
                let bits = items(right).into_iter().try_fold(0u8, |acc, v| {
                    Some(
                        acc | match v.as_str()? {
                            "dnat" => ct::DNAT,
                            "snat" => ct::SNAT,
                            _ => return None,
                        },
                    )
                });
                match bits {
                    Some(b) => out.push(Match::CtState(Neg { negated, value: b })),
                    None => out.push(unknown()),
                }
                return;
            }
            ("direction", _) => {
                match right.as_str() {
                    Some("original") => out.push(Match::CtDirOriginal(Neg { negated, value: true })),
                    Some("reply") => out.push(Match::CtDirOriginal(Neg { negated, value: false })),
                    _ => out.push(unknown()),
                }
                return;
            }
            _ => {}
        }
    }
    if left.get("ct").and_then(|c| c.get("key")).and_then(Value::as_str) == Some("state") {
        match ct_state_bits(right) {
            Some(b) => out.push(Match::CtState(Neg { negated, value: b })),
            None => out.push(unknown()),
        }
        return;
    }
    if let Some(and) = left.get("&").and_then(Value::as_array) {
        let is_flags = and
            .first()
            .and_then(|p| p.get("payload"))
            .is_some_and(|p| p.get("field").and_then(Value::as_str) == Some("flags"));
        if let (true, Some(mask), Some(comp)) = (is_flags, and.get(1).and_then(tcp_flags), tcp_flags(right)) {
            out.push(Match::Proto(Neg { negated: false, value: 6 }));
            out.push(Match::TcpFlags(Neg { negated, value: (mask, comp) }));
            return;
        }
    }
    if let Some(fib) = left.get("fib") {
        // firewalld's IPv6 rpfilter: `fib saddr . mark . iif oif missing drop`.
        let flags = fib.get("flags").map(|f| f.to_string()).unwrap_or_default();
        if fib.get("result").and_then(Value::as_str) == Some("oif")
            && flags.contains("saddr")
            && flags.contains("iif")
            && let Some(exists) = right.as_bool()
        {
            out.push(Match::ReversePath(Neg { negated, value: exists }));
            return;
        }
        let daddr = fib.get("flags").map(|f| f.to_string().contains("daddr")).unwrap_or(false);
        if fib.get("result").and_then(Value::as_str) == Some("type")
            && daddr
            && let Some(t) = right.as_str()
        {
            out.push(Match::DstAddrType(Neg { negated, value: AddrType::from(t) }));
            return;
        }
        // `fib saddr type local` (kube-proxy's "masquerade local traffic"): the source address's
        // type, as iptables' `-m addrtype --src-type`. Only the bare form: with `. iif` the
        // lookup is confined to the input interface's table, which is not this.
        let saddr_only = fib.get("flags").is_some_and(|f| f == &serde_json::json!(["saddr"]));
        if fib.get("result").and_then(Value::as_str) == Some("type")
            && saddr_only
            && let Some(t) = right.as_str()
        {
            out.push(Match::SrcAddrType(Neg { negated, value: AddrType::from(t) }));
            return;
        }
    }
    out.push(unknown());
}

/// One part of a verdict map's key.
fn map_key(k: &Value) -> Option<MapKey> {
    if let Some(m) = k.get("meta").and_then(|m| m.get("key")).and_then(Value::as_str) {
        return match m {
            "l4proto" => Some(MapKey::L4Proto),
            "protocol" => Some(MapKey::EtherType),
            "iifname" | "iif" => Some(MapKey::Iifname),
            "oifname" | "oif" => Some(MapKey::Oifname),
            _ => None,
        };
    }
    if k.get("ct").and_then(|c| c.get("key")).and_then(Value::as_str) == Some("state") {
        return Some(MapKey::CtState);
    }
    if let Some(p) = k.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str)?;
        return match (proto, p.get("field").and_then(Value::as_str)?) {
            ("th" | "tcp" | "udp" | "sctp", "dport") => Some(MapKey::DstPort),
            ("th" | "tcp" | "udp" | "sctp", "sport") => Some(MapKey::SrcPort),
            ("ip" | "ip6", "daddr") => Some(MapKey::Daddr),
            ("ip" | "ip6", "saddr") => Some(MapKey::Saddr),
            ("ip", "protocol") | ("ip6", "nexthdr") => Some(MapKey::L4Proto),
            _ => None,
        };
    }
    let n = k.get("numgen")?;
    (n.get("mode").and_then(Value::as_str) == Some("random"))
        .then(|| n.get("mod").and_then(Value::as_u64).and_then(|m| u32::try_from(m).ok()))
        .flatten()
        .map(MapKey::Random)
}

/// An element's value for one key part (an address range gives several).
fn map_vals(key: &MapKey, v: &Value) -> Option<Vec<MapVal>> {
    Some(match key {
        MapKey::L4Proto => vec![MapVal::Proto(
            v.as_str().and_then(proto_of).or_else(|| v.as_u64().and_then(|n| u8::try_from(n).ok()))?,
        )],
        MapKey::DstPort | MapKey::SrcPort => ports_of(v)?.into_iter().map(|(a, b)| MapVal::Ports(a, b)).collect(),
        MapKey::Daddr | MapKey::Saddr => cidr_of(v)?.into_iter().map(MapVal::Addr).collect(),
        MapKey::Iifname | MapKey::Oifname => vec![MapVal::Iface(v.as_str()?.to_string())],
        MapKey::Random(_) => vec![MapVal::Number(u32::try_from(v.as_u64()?).ok()?)],
        MapKey::CtState => vec![MapVal::CtState(ct_state_bits(v)?)],
        MapKey::EtherType => vec![MapVal::Number(u32::from(ethertype_of(v)?))],
    })
}

/// A verdict as a map element holds it.
fn map_verdict(v: &Value) -> Option<Action> {
    let (k, val) = v.as_object()?.iter().next()?;
    Some(match k.as_str() {
        "accept" => Action::Accept,
        "drop" => Action::Drop,
        "return" => Action::Return,
        "continue" => Action::Continue,
        "jump" => Action::Jump(val.get("target")?.as_str()?.to_string()),
        "goto" => Action::Goto(val.get("target")?.as_str()?.to_string()),
        _ => return None,
    })
}

/// `{"vmap": {"key": …, "data": "@map" | {"set": […]}}}` → the key and its elements; `None` for
/// a key or element this version does not read (the rule is then unknown, never skipped).
fn parse_vmap(val: &Value, maps: &HashMap<String, Vec<Value>>) -> Option<Action> {
    let (key, elements) = parse_map(val, maps, map_verdict)?;
    Some(Action::Vmap { key, elements })
}

/// One element of a map: its key's values and what it does.
type MapElement = (Vec<MapVal>, Action);

/// A map lookup (`{"key": …, "data": "@map" | {"set": […]}}`) whose elements' values `value`
/// turns into what the rule does: a verdict map, or where `dnat to … map` sends the packet.
fn parse_map(
    val: &Value,
    maps: &HashMap<String, Vec<Value>>,
    value: impl Fn(&Value) -> Option<Action>,
) -> Option<(Vec<MapKey>, Vec<MapElement>)> {
    let key_v = val.get("key")?;
    let parts: Vec<&Value> = match key_v.get("concat").and_then(Value::as_array) {
        Some(c) => c.iter().collect(),
        None => vec![key_v],
    };
    let key: Vec<MapKey> = parts.into_iter().map(map_key).collect::<Option<_>>()?;
    let data = val.get("data")?;
    let elems: Vec<Value> = match data.as_str().and_then(|d| d.strip_prefix('@')) {
        Some(name) => maps.get(name)?.clone(),
        None => data.get("set")?.as_array()?.clone(),
    };
    let mut elements = Vec::new();
    for e in &elems {
        let pair = e.as_array()?;
        let (kv, verdict) = (pair.first()?, value(pair.get(1)?)?);
        let kv = kv.get("elem").and_then(|x| x.get("val")).unwrap_or(kv);
        let vals: Vec<&Value> = match kv.get("concat").and_then(Value::as_array) {
            Some(c) => c.iter().collect(),
            None => vec![kv],
        };
        if vals.len() != key.len() {
            return None;
        }
        // Every combination of the parts' values (an address range is several prefixes).
        let mut combos: Vec<Vec<MapVal>> = vec![vec![]];
        for (k, v) in key.iter().zip(vals) {
            let options = map_vals(k, v)?;
            combos = combos
                .into_iter()
                .flat_map(|c| options.iter().map(move |o| c.iter().cloned().chain([o.clone()]).collect()))
                .collect();
        }
        elements.extend(combos.into_iter().map(|c| (c, verdict.clone())));
    }
    Some((key, elements))
}

/// The transport protocol a map key implies (`tcp dport`: nft adds `meta l4proto tcp` in front
/// of the lookup without listing it).
fn key_protocol(val: &Value) -> Option<u8> {
    let key = val.get("key")?;
    let parts: Vec<&Value> = match key.get("concat").and_then(Value::as_array) {
        Some(c) => c.iter().collect(),
        None => vec![key],
    };
    parts.into_iter().find_map(|k| match k.get("payload")?.get("protocol")?.as_str()? {
        p @ ("tcp" | "udp" | "sctp") => proto_of(p),
        _ => None,
    })
}

/// `dnat to ADDR[:PORT]`, or `dnat to KEY map { K : ADDR [. PORT], … }` (a verdict map whose
/// verdicts are translations: no element, no translation — the rule does not match); `None`
/// when the destination cannot be read (never "no translation" by mistake).
fn parse_dnat(val: &Value, maps: &HashMap<String, Vec<Value>>) -> Option<(Action, Option<u8>)> {
    let port = |v: Option<&Value>| -> Option<Option<u16>> {
        match v {
            None => Some(None),
            Some(p) => Some(Some(u16::try_from(p.as_u64()?).ok()?)),
        }
    };
    let fixed_port = port(val.get("port"))?;
    let addr = val.get("addr")?;
    if let Some(map) = addr.get("map") {
        let target = |v: &Value| -> Option<Action> {
            let (a, p) = match v.get("concat").and_then(Value::as_array) {
                Some(c) if c.len() == 2 => (c.first()?, port(c.get(1))?),
                Some(_) => return None,
                None => (v, fixed_port),
            };
            Some(Action::Dnat { addr: Some(a.as_str()?.parse().ok()?), port: p, redirect: false })
        };
        let (key, elements) = parse_map(map, maps, target)?;
        return Some((Action::Vmap { key, elements }, key_protocol(map)));
    }
    Some((Action::Dnat { addr: Some(addr.as_str()?.parse().ok()?), port: fixed_port, redirect: false }, None))
}

/// `meta mark & MASK` → MASK: the left side of a masked mark match.
fn mark_mask(left: &Value) -> Option<u32> {
    let and = left.get("&")?.as_array()?;
    and.first()?.get("meta")?.get("key")?.as_str().filter(|k| *k == "mark")?;
    u32::try_from(and.get(1)?.as_u64()?).ok()
}

/// `meta mark set VALUE` or `meta mark set mark | BITS` (and `&`, `^`): as and-not-mask, xor.
fn mark_set(val: &Value) -> Option<MarkSet> {
    let num = |v: &Value| v.as_u64().and_then(|v| u32::try_from(v).ok());
    let value = val.get("value")?;
    if let Some(v) = num(value) {
        return Some(MarkSet { mask: u32::MAX, xor: v });
    }
    let (op, args) = value.as_object()?.iter().next()?;
    let args = args.as_array()?;
    args.first()?.get("meta")?.get("key")?.as_str().filter(|k| *k == "mark")?;
    let bits = num(args.get(1)?)?;
    Some(match op.as_str() {
        "|" => MarkSet { mask: bits, xor: bits },
        "&" => MarkSet { mask: !bits, xor: 0 },
        "^" => MarkSet { mask: 0, xor: bits },
        _ => return None,
    })
}

/// Statements: the verdict, or the non-terminal things rules also do.
fn parse_rule_exprs(expr: &[Value], maps: &HashMap<String, Vec<Value>>) -> (Vec<Match>, Action, Option<MarkSet>) {
    let mut matches = Vec::new();
    let mut action = Action::Continue;
    let mut mark = None;
    for e in expr {
        // An expression that is not one statement object is a match we cannot read, not none.
        let Some((key, val)) = e.as_object().and_then(|o| o.iter().next()) else {
            matches.push(Match::Unknown(format!("{} (not an nft statement)", compact(e))));
            continue;
        };
        match key.as_str() {
            "match" => parse_match(val, &mut matches),
            "accept" => action = Action::Accept,
            "drop" => action = Action::Drop,
            "return" => action = Action::Return,
            "reject" => {
                let kind = match val.get("type").and_then(Value::as_str) {
                    Some("tcp reset") => "tcp-reset".to_string(),
                    Some(t) => format!("{t} {}", val.get("expr").and_then(Value::as_str).unwrap_or("port-unreachable")),
                    None => "icmp port-unreachable".to_string(),
                };
                action = Action::Reject(kind.into());
            }
            "jump" | "goto" => {
                let target = val.get("target").and_then(Value::as_str).unwrap_or("").to_string();
                action = if key == "jump" { Action::Jump(target) } else { Action::Goto(target) };
            }
            // A port that is not a number (a map, a range) is not "the same port".
            "redirect" => match val.get("port").map(|p| p.as_u64().and_then(|p| u16::try_from(p).ok())) {
                Some(None) => action = Action::Unknown(compact(e)),
                port => action = Action::Dnat { addr: None, port: port.flatten(), redirect: true },
            },
            "dnat" => match parse_dnat(val, maps) {
                Some((dnat, proto)) => {
                    if let Some(p) = proto.map(|p| Match::Proto(Neg { negated: false, value: p }))
                        && !matches.contains(&p)
                    {
                        matches.push(p);
                    }
                    action = dnat;
                }
                None => action = Action::Unknown(compact(e)),
            },
            "notrack" => action = Action::Notrack,
            "vmap" => action = parse_vmap(val, maps).unwrap_or_else(|| Action::Unknown(compact(e))),
            "mangle"
                if val.get("key").and_then(|k| k.get("meta")).and_then(|m| m.get("key"))
                    == Some(&Value::from("mark")) =>
            {
                match mark_set(val) {
                    Some(m) => mark = Some(m),
                    None => action = Action::Unknown(format!("sets the mark to {}", compact(val))),
                }
            }
            "snat" => {
                action = Action::Snat { addr: val.get("addr").and_then(Value::as_str).and_then(|a| a.parse().ok()) }
            }
            "masquerade" => action = Action::Snat { addr: None },
            // `flow add @ft` offloads an established connection to a flowtable: its later packets
            // skip the hooks, which admits them as the rule's own verdict would; nothing for a
            // new connection.
            "counter" | "log" | "mangle" | "meta" | "ct" | "flow" => {}
            // `add @s { ip saddr ct count over 3 }`, `update @s { … limit rate over 10/second }`,
            // `meter m { ip saddr limit rate 20/second }`: a limit or count per key (the client's
            // own, for a key on its address), and the key's header implies its family.
            "set" | "meter" => {
                let elem = val.get("elem").or_else(|| val.get("key")).unwrap_or(&Value::Null);
                let elem = elem.get("elem").and_then(|e| e.get("val")).unwrap_or(elem);
                implied_by_payload(elem, &mut matches);
                let inner: Vec<&Value> = match val.get("stmt") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(one) => vec![one],
                    None => vec![],
                };
                for st in inner {
                    let Some((k, v)) = st.as_object().and_then(|o| o.iter().next()) else { continue };
                    matches.push(match traffic(k, v) {
                        Some(Match::Traffic { probe, text, under_load }) => Match::Traffic {
                            probe,
                            text: format!("{key} {{ {} {text} }}", left_text(elem)),
                            under_load: format!(
                                "{under_load}, counted per key (a quiet client has its own, empty count)"
                            ),
                        },
                        _ => Match::Unknown(compact(st)),
                    });
                }
            }
            // A rate limit or connection count decides by traffic history: a probe's answer,
            // said as load-dependent.
            "limit" | "ct count" => matches.push(traffic(key, val).unwrap_or_else(|| Match::Unknown(compact(e)))),
            // A quota's use is in the listing, but not what will have used it by then.
            "quota" => matches.push(Match::Unknown(compact(e))),
            // iptables-nft's rules show their x_tables extensions as `xt` without options: a
            // match or target nft cannot say anything about.
            "xt" => {
                let name = val.get("name").and_then(Value::as_str).unwrap_or("?");
                match val.get("type").and_then(Value::as_str) {
                    Some("match") => matches.push(Match::Unknown(format!("iptables extension match {name}"))),
                    _ => action = Action::Unknown(format!("iptables extension target {name}")),
                }
            }
            _ => action = Action::Unknown(compact(e)),
        }
    }
    (matches, action, mark)
}

/// A statement that labels packets for SELinux: a secmark object (`meta secmark set "name"`
/// reads as `{"secmark": …}`), or a mangle of `meta secmark` / `ct secmark`.
fn labels_for_selinux(e: &Value) -> bool {
    if e.get("secmark").is_some() {
        return true;
    }
    let key = e.get("mangle").and_then(|m| m.get("key"));
    let secmark = Some(&Value::from("secmark"));
    key.is_some_and(|k| {
        k.get("meta").and_then(|m| m.get("key")) == secmark || k.get("ct").and_then(|c| c.get("key")) == secmark
    })
}

/// The left side of a match (or a set's key) in nft's words: `ip saddr`, `meta iif`, `ct state`.
fn left_text(l: &Value) -> String {
    let key = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    if let Some(p) = l.get("payload") {
        format!("{} {}", key(p, "protocol"), key(p, "field"))
    } else if let Some(m) = l.get("meta") {
        format!("meta {}", key(m, "key"))
    } else if let Some(c) = l.get("ct") {
        format!("ct {}", key(c, "key"))
    } else {
        compact(l)
    }
}

/// Human text of a rule for evidence: nft's own words where we have them, JSON otherwise.
fn rule_text(expr: &[Value], handle: Option<u64>) -> String {
    let parts: Vec<String> = expr
        .iter()
        .map(|e| {
            let Some((k, v)) = e.as_object().and_then(|o| o.iter().next()) else { return compact(e) };
            match k.as_str() {
                "match" => {
                    let left = v.get("left").map(left_text);
                    let op = match v.get("op").and_then(Value::as_str) {
                        Some("!=") => " != ",
                        _ => " ",
                    };
                    format!(
                        "{}{op}{}",
                        left.unwrap_or_default(),
                        v.get("right").map(compact).unwrap_or_default().trim_matches('"')
                    )
                }
                "jump" | "goto" => format!("{k} {}", v.get("target").and_then(Value::as_str).unwrap_or("?")),
                "limit" | "ct count" => match traffic(k, v) {
                    Some(Match::Traffic { text, .. }) => text,
                    _ => format!("{k} {}", compact(v)),
                },
                "counter" => "counter".into(),
                other if v.is_null() => other.to_string(),
                other => format!("{other} {}", compact(v)),
            }
        })
        .collect();
    format!("{}{}", parts.join(" "), handle.map(|h| format!(" # handle {h}")).unwrap_or_default())
}

/// A ruleset as read: the tables, which of them hold iptables-nft rules (`xt` expressions nft
/// cannot show), by family and name, and the objects that could not be placed in any table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub nf: Netfilter,
    pub xt_tables: Vec<(FwFamily, String)>,
    /// Tables with a rule that has no `counter`: iptables-nft counts every rule it writes, so
    /// such a rule was written with nft.
    pub uncounted_tables: Vec<(FwFamily, String)>,
    pub unplaced: Vec<String>,
}

/// Reads `nft -j list ruleset`. Only a document that is not nft's JSON is an error: a rule that
/// cannot be read becomes an unknown rule in its chain, and an object that cannot be placed is
/// named in `unplaced` (the host's walk is then unknown, never quietly short of a rule).
pub fn read_ruleset(file: &str, text: &str) -> Result<Ruleset, ParseError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {}", e.line()), format!("not valid JSON: {e}")))?;
    let list = v.get("nftables").and_then(Value::as_array).ok_or_else(|| {
        ParseError::new(file, "nftables", "expected {\"nftables\": [...]} as `nft -j list ruleset` prints")
    })?;
    let mut out = Ruleset::default();
    let nf = &mut out.nf;
    // Maps by "family table", then name, for the rules that name them (`vmap @name`, `dnat to …
    // map @name`): kube-proxy keeps same-named maps in its `ip` and `ip6` tables.
    let mut maps: HashMap<String, HashMap<String, Vec<Value>>> = HashMap::new();
    for m in list.iter().filter_map(|i| i.get("map")) {
        let at = |k: &str| m.get(k).and_then(Value::as_str);
        if let (Some(f), Some(t), Some(n)) = (at("family"), at("table"), at("name")) {
            let elems = m.get("elem").and_then(Value::as_array).cloned().unwrap_or_default();
            maps.entry(format!("{f} {t}")).or_default().insert(n.to_string(), elems);
        }
    }
    let no_maps = HashMap::new();
    let str_of = |obj: &Value, key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    // Where an object names its table and chain: all three, or which one is missing.
    let place = |i: usize, kind: &str, obj: &Value, keys: &[&str]| -> Result<Vec<String>, String> {
        keys.iter()
            .map(|k| {
                str_of(obj, k).ok_or_else(|| {
                    format!("{file}: nftables[{i}].{kind} has no {k}, so it cannot be placed: {}", compact(obj))
                })
            })
            .collect()
    };
    let find = |tables: &mut Vec<Table>, fam: &str, table: &str| {
        tables.iter().position(|t| t.name == table && t.family == family(fam))
    };
    for (i, item) in list.iter().enumerate() {
        if let Some(t) = item.get("table") {
            match place(i, "table", t, &["family", "name"]) {
                Ok(p) => nf.tables.push(Table {
                    backend: Backend::Nftables,
                    family: family(&p[0]),
                    name: p[1].clone(),
                    chains: vec![],
                }),
                Err(why) => out.unplaced.push(why),
            }
        } else if let Some(c) = item.get("chain") {
            let Some(p) = place(i, "chain", c, &["family", "table", "name"]).map_err(|why| out.unplaced.push(why)).ok()
            else {
                continue;
            };
            let (fam, table, name) = (&p[0], &p[1], &p[2]);
            let base = match c.get("hook").and_then(Value::as_str) {
                Some(h) => match hook(h) {
                    Some(hook) => Some(BaseInfo {
                        hook,
                        priority: c.get("prio").and_then(Value::as_i64).unwrap_or(0) as i32,
                        kind: c.get("type").and_then(Value::as_str).unwrap_or("filter").into(),
                        policy_accept: c.get("policy").and_then(Value::as_str) != Some("drop"),
                        // nft ≥ 1.0.7 names the devices (`dev`: one or a list); older
                        // listings leave them out, and `nft list chains` fills them in.
                        devices: match c.get("dev") {
                            Some(Value::String(d)) => vec![d.clone()],
                            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                            _ => vec![],
                        },
                    }),
                    None => {
                        // netdev egress and other hooks: they see packets too.
                        nf.unmodeled.push(format!(
                            "nftables table {fam} {table} (chain {name} on hook {h}) is not evaluated by this version: read it with `{}`",
                            list_table(fam, table)
                        ));
                        None
                    }
                },
                None => None,
            };
            match find(&mut nf.tables, fam, table) {
                Some(t) => nf.tables[t].chains.push(Chain { name: name.clone(), rules: vec![], base }),
                None => out.unplaced.push(format!(
                    "{file}: nftables[{i}]: chain {name} of table {fam} {table}, which is not listed: it cannot be placed"
                )),
            }
        } else if let Some(r) = item.get("rule") {
            let Some(p) = place(i, "rule", r, &["family", "table", "chain"]).map_err(|why| out.unplaced.push(why)).ok()
            else {
                continue;
            };
            let (fam, table, chain) = (&p[0], &p[1], &p[2]);
            let handle = r.get("handle").and_then(Value::as_u64);
            let comment = str_of(r, "comment");
            let rule = match r.get("expr").and_then(Value::as_array) {
                Some(expr) => {
                    let key = (family(fam), table.clone());
                    if expr.iter().any(|e| e.get("xt").is_some()) && !out.xt_tables.contains(&key) {
                        out.xt_tables.push(key.clone());
                    }
                    if !expr.iter().any(|e| e.get("counter").is_some()) && !out.uncounted_tables.contains(&key) {
                        out.uncounted_tables.push(key);
                    }
                    let (matches, action, mark) =
                        parse_rule_exprs(expr, maps.get(&format!("{fam} {table}")).unwrap_or(&no_maps));
                    let secmark = expr.iter().any(labels_for_selinux);
                    Rule { matches, action, text: rule_text(expr, handle), comment, mark, secmark }
                }
                // A rule with no statements to read: it may match anything and do anything.
                None => Rule {
                    matches: vec![Match::Unknown(format!("a rule without expressions ({})", compact(r)))],
                    action: Action::Unknown("the statements of a rule that could not be read".into()),
                    text: format!("nftables[{i}]{}", handle.map(|h| format!(" # handle {h}")).unwrap_or_default()),
                    comment,
                    mark: None,
                    secmark: false,
                },
            };
            let at = find(&mut nf.tables, fam, table)
                .and_then(|t| nf.tables[t].chains.iter().position(|c| c.name == *chain).map(|c| (t, c)));
            match at {
                Some((t, c)) => nf.tables[t].chains[c].rules.push(rule),
                None => out.unplaced.push(format!(
                    "{file}: nftables[{i}]: a rule of chain {fam} {table} {chain}, which is not listed: {}",
                    rule.text
                )),
            }
        } else if let Some(s) = item.get("set") {
            // A set that cannot be named cannot be looked up: rules naming it are unknown.
            let (Some(name), Some(table)) = (str_of(s, "name"), str_of(s, "table")) else { continue };
            let kind = s.get("type").map(compact).unwrap_or_default().trim_matches('"').to_string();
            let members = if kind == "ipv4_addr" || kind == "ipv6_addr" {
                let elems = s.get("elem").and_then(Value::as_array).cloned().unwrap_or_default();
                elems.iter().map(cidr_of).collect::<Option<Vec<_>>>().map(|v| v.concat())
            } else {
                None
            };
            let fam = str_of(s, "family").map(|f| family(&f));
            nf.sets.push(AddrSetDef { name, table: Some(table), family: fam, kind, members });
        }
    }
    for t in &nf.tables {
        if t.family == FwFamily::Other && t.chains.iter().any(|c| c.base.is_some()) {
            nf.unmodeled.push(format!(
                "nftables table {} (bridge or arp family) is not evaluated by this version: read it with `nft list tables`",
                t.name
            ));
        }
    }
    Ok(out)
}

/// The devices of each ingress chain in `nft list chains` (text): `(family, table, chain,
/// devices)` from lines `type filter hook ingress device "eth0" priority …` or `devices = { a,
/// b }`. nft's JSON leaves the devices out before 1.0.7.
pub fn ingress_devices(text: &str) -> Vec<(String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    let (mut table, mut chain): (Option<(String, String)>, Option<String>) = (None, None);
    for line in text.lines().map(str::trim) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["table", fam, name, "{"] => table = Some((fam.to_string(), name.to_string())),
            ["chain", name, "{"] => chain = Some(name.to_string()),
            ["type", _, "hook", "ingress", rest @ ..] => {
                let (Some((fam, t)), Some(c)) = (&table, &chain) else { continue };
                let devices: Vec<String> = match rest {
                    ["device", d, ..] => vec![d.trim_matches('"').to_string()],
                    ["devices", "=", "{", more @ ..] => more
                        .iter()
                        .take_while(|x| **x != "}")
                        .map(|x| x.trim_end_matches(',').trim_matches('"').to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                    _ => vec![],
                };
                out.push((fam.clone(), t.clone(), c.clone(), devices));
            }
            _ => {}
        }
    }
    out
}

/// Reads a ruleset that must be whole: anything that could not be placed is an error here (for
/// inputs written by hand and tests; a host's evidence is read with `read_ruleset`).
pub fn parse_ruleset(file: &str, text: &str) -> Result<Netfilter, ParseError> {
    let r = read_ruleset(file, text)?;
    match r.unplaced.first() {
        Some(why) => Err(ParseError::new(file, "nftables", why.trim_start_matches(&format!("{file}: ")).to_string())),
        None => Ok(r.nf),
    }
}

/// `nft list table FAMILY NAME` for a person to run: the names come from the host's ruleset,
/// and nft re-parses its arguments, so a name that is not a plain nft name withholds it.
pub(crate) fn list_table(family: &str, name: &str) -> Fix {
    Fix::run(ShellCommand::new("nft list table").nft_name(family).nft_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULESET: &str = include_str!("../tests/fixtures/nft-ruleset.json");

    /// nft 1.0.6 (this machine) lists a netdev ingress chain without its device; `nft list
    /// chains` names it.
    #[test]
    fn reads_ingress_chains_and_their_devices() {
        let json = r#"{"nftables": [{"table": {"family": "netdev", "name": "t", "handle": 1}}, {"chain": {"family": "netdev", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "ingress", "prio": 0, "policy": "accept"}}, {"chain": {"family": "netdev", "table": "t", "name": "out", "handle": 2, "type": "filter", "hook": "egress", "prio": 0, "dev": "eth0", "policy": "accept"}}, {"rule": {"family": "netdev", "table": "t", "chain": "in", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}}, {"drop": null}]}}]}"#;
        let nf = parse_ruleset("nft-ruleset.json", json).unwrap();
        let t = &nf.tables[0];
        assert_eq!(t.family, FwFamily::Netdev);
        let base = t.chains[0].base.as_ref().unwrap();
        assert_eq!((base.hook, base.devices.len()), (Hook::Ingress, 0));
        assert!(t.chains[1].base.is_none(), "egress is not evaluated");
        assert_eq!(nf.unmodeled.len(), 1, "{:?}", nf.unmodeled);
        assert!(nf.unmodeled[0].contains("chain out on hook egress"), "{:?}", nf.unmodeled);
        let chains = "table netdev t {\n\tchain in {\n\t\ttype filter hook ingress device \"va\" priority filter; policy accept;\n\t}\n\tchain in2 {\n\t\ttype filter hook ingress devices = { va, vb } priority filter - 5; policy accept;\n\t}\n}\ntable inet i {\n\tchain y {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";
        let devs = ingress_devices(chains);
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0], ("netdev".into(), "t".into(), "in".into(), vec!["va".to_string()]));
        assert_eq!(devs[1].3, ["va", "vb"]);
        // nft ≥ 1.0.7 names them itself.
        let named =
            json.replace(r#""hook": "ingress", "prio": 0,"#, r#""hook": "ingress", "prio": 0, "dev": ["va", "vb"],"#);
        let nf = parse_ruleset("nft-ruleset.json", &named).unwrap();
        assert_eq!(nf.tables[0].chains[0].base.as_ref().unwrap().devices, ["va", "vb"]);
    }

    #[test]
    fn reads_kube_proxys_verdict_maps() {
        let text = include_str!("../tests/fixtures/kube-proxy-nft-ruleset.json");
        let nf = parse_ruleset("kube-proxy-nft-ruleset.json", text).unwrap();
        let kp = nf.tables.iter().find(|t| t.name == "kube-proxy").unwrap();
        let rule = |chain: &str| &kp.chains.iter().find(|c| c.name == chain).unwrap().rules[0];
        assert_eq!(
            rule("services").action,
            Action::Vmap {
                key: vec![MapKey::L4Proto, MapKey::DstPort],
                elements: vec![(
                    vec![MapVal::Proto(6), MapVal::Ports(30080, 30080)],
                    Action::Goto("external-web".into())
                )],
            }
        );
        let Action::Vmap { key, elements } = &rule("service-web").action else { panic!() };
        assert_eq!(key, &[MapKey::Random(2)]);
        assert_eq!(elements.len(), 2);
        assert_eq!(rule("mark-for-masquerade").mark, Some(MarkSet { mask: 0x4000, xor: 0x4000 }));
    }

    /// A rule that labels packets for SELinux is marked so, whichever statement does it; a rule
    /// that only names "secmark" in a comment is not.
    #[test]
    fn secmark_statements_mark_the_rule() {
        let text = r#"{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}}, {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2, "expr": [{"secmark": "http_server"}]}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 3, "expr": [{"mangle": {"key": {"ct": {"key": "secmark"}}, "value": {"meta": {"key": "secmark"}}}}]}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 4, "comment": "secmark later", "expr": [{"accept": null}]}}]}"#;
        let nf = parse_ruleset("secmark.json", text).unwrap();
        let marked: Vec<bool> = nf.tables[0].chains[0].rules.iter().map(|r| r.secmark).collect();
        assert_eq!(marked, [true, true, false]);
    }

    #[test]
    fn fib_saddr_type_is_the_source_address_type() {
        // `nft -j list ruleset` (nftables 1.0.6) of kube-proxy's "masquerade local traffic"
        // match, and the interface-bound form that is something else.
        let text = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "t", "handle": 1}}, {"chain": {"family": "ip", "table": "t", "name": "m", "handle": 1}}, {"chain": {"family": "ip", "table": "t", "name": "c", "handle": 2}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 3, "expr": [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["saddr"]}}, "right": "local"}}, {"jump": {"target": "m"}}]}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 4, "expr": [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["saddr", "iif"]}}, "right": "local"}}, {"jump": {"target": "m"}}]}}]}"#;
        let nf = parse_ruleset("fib.json", text).unwrap();
        let rules = &nf.tables[0].chains.iter().find(|c| c.name == "c").unwrap().rules;
        assert_eq!(rules[0].matches, vec![Match::SrcAddrType(Neg { negated: false, value: "local".into() })]);
        assert!(matches!(rules[1].matches[..], [Match::Unknown(_)]), "{:?}", rules[1].matches);
    }

    #[test]
    fn reads_chains_rules_and_sets() {
        let nf = parse_ruleset("nft-ruleset.json", RULESET).unwrap();
        let filter = nf.tables.iter().find(|t| t.name == "filter").unwrap();
        let input = &filter.chains[0];
        let base = input.base.as_ref().unwrap();
        assert_eq!((base.hook, base.priority, base.policy_accept), (Hook::Input, 0, false));
        assert_eq!(input.rules.len(), 9);
        assert_eq!(input.rules[0].matches, vec![Match::InIface(Neg { negated: false, value: "lo".into() })]);
        assert_eq!(
            input.rules[3].matches[1],
            Match::DstPort(Neg { negated: false, value: vec![(22, 22), (80, 80), (8000, 8100)] })
        );
        assert_eq!(input.rules[4].matches[1], Match::SetSrc(Neg { negated: false, value: "allowed".into() }));
        assert_eq!(input.rules[6].action, Action::Reject("tcp-reset".into()));
        assert!(matches!(input.rules[7].matches.last(), Some(Match::TcpFlags(_))));
        assert_eq!(input.rules[7].action, Action::Jump("web".into()));
        assert_eq!(input.rules[3].text, "tcp dport {\"set\":[22,80,{\"range\":[8000,8100]}]} accept # handle 8");
        let set = &nf.sets[0];
        assert_eq!(set.members.as_ref().unwrap().len(), 2);
        let nat = nf.tables.iter().find(|t| t.name == "nat").unwrap();
        assert_eq!(nat.chains[0].rules[0].action, Action::Dnat { addr: None, port: Some(8080), redirect: true });
    }

    /// `nft -j list ruleset` (nftables 1.0.6) of tests/fixtures/nft-common-exprs.nft, loaded
    /// in a namespace: the expressions fw4 and hand-written rulesets use every day, each read
    /// into something the walk decides.
    #[test]
    fn common_expressions_are_decided() {
        let text = include_str!("../tests/fixtures/nft-common-exprs.json");
        let nf = parse_ruleset("nft-common-exprs.json", text).unwrap();
        let rules = &nf.tables[0].chains[0].rules;
        // Undecided for a TCP or UDP flow: an unread part, and no protocol that rules the flow out.
        let other_proto = |r: &Rule| {
            r.matches.iter().any(|m| matches!(m, Match::Proto(n) if !n.negated && n.value != 6 && n.value != 17))
        };
        let undecided: Vec<&str> = rules
            .iter()
            .filter(|r| {
                (r.matches.iter().any(|m| matches!(m, Match::Unknown(_))) || matches!(r.action, Action::Unknown(_)))
                    && !other_proto(r)
            })
            .map(|r| r.text.as_str())
            .collect();
        assert!(undecided.is_empty(), "{undecided:#?}");
        fn no<T>(value: T) -> Neg<T> {
            Neg { negated: false, value }
        }
        assert_eq!(rules[0].matches, [Match::InIface(no("lo".to_string()))]);
        assert_eq!(rules[1].matches, [Match::OutIface(no("lo".to_string()))]);
        let Action::Vmap { key, elements } = &rules[2].action else { panic!("{:?}", rules[2].action) };
        assert_eq!(key, &[MapKey::CtState]);
        assert_eq!(elements[0], (vec![MapVal::CtState(ct::INVALID)], Action::Drop));
        assert_eq!(elements[1], (vec![MapVal::CtState(ct::ESTABLISHED)], Action::Accept));
        assert_eq!(rules[3].matches, [Match::IsIpv6(no(false)), Match::Proto(no(1))]);
        assert_eq!(rules[5].matches, [Match::IsIpv6(no(true)), Match::Proto(no(6))]);
        assert_eq!(rules[6].matches, [Match::EtherType(no(ETHERTYPE_IPV4))]);
        let Action::Vmap { key, .. } = &rules[7].action else { panic!() };
        assert_eq!(key, &[MapKey::EtherType]);
        assert!(
            matches!(&rules[8].matches[0], Match::Traffic { probe: true, text, .. } if text == "limit rate 25/second burst 50")
        );
        assert!(matches!(&rules[9].matches[0], Match::Traffic { probe: false, .. }));
        assert!(
            matches!(&rules[10].matches[0], Match::Traffic { probe: false, text, .. } if text == "ct count over 20")
        );
        assert_eq!(rules[11].matches, [Match::InIfaceIn(no(vec!["eth0".to_string(), "br-lan".to_string()]))]);
        // `icmpv6 type . icmpv6 code { … }`: (type, code) pairs, and ICMPv6 implied.
        assert_eq!(rules[12].matches, [Match::Proto(no(58)), Match::IcmpTypeCode(no(vec![(130, 0), (131, 0)]))]);
        assert_eq!(rules[14].matches, [Match::Proto(no(2))]);
        assert_eq!(rules[15].matches, [Match::Proto(no(50))]);
        let Action::Vmap { key, .. } = &rules[18].action else { panic!() };
        assert_eq!(key, &[MapKey::Iifname]);
    }

    /// Limits and counts per key (nft `add @set { ip saddr ct count over 3 }`, `update @set { …
    /// limit rate over … }`, `meter`), from `nft -j` of tests/fixtures/nft-per-key-limits.nft.
    #[test]
    fn per_key_limits_are_a_probes_answer() {
        let text = include_str!("../tests/fixtures/nft-per-key-limits.json");
        let nf = parse_ruleset("nft-per-key-limits.json", text).unwrap();
        let rules = &nf.tables[0].chains[0].rules;
        let traffic = |r: &Rule| {
            r.matches.iter().find_map(|m| match m {
                Match::Traffic { probe, text, .. } => Some((*probe, text.clone())),
                _ => None,
            })
        };
        assert_eq!(traffic(&rules[0]), Some((false, "set { ip saddr ct count over 3 }".into())));
        assert_eq!(traffic(&rules[1]), Some((false, "set { ip saddr limit rate over 10/second burst 5 }".into())));
        assert_eq!(traffic(&rules[2]), Some((true, "meter { ip saddr limit rate 20/second burst 5 }".into())));
        // The key on `ip saddr` makes the rule IPv4's only (nft adds that dependency).
        assert!(rules[..3].iter().all(|r| r.matches.contains(&Match::IsIpv6(Neg { negated: false, value: false }))));
        assert_eq!(rules[0].action, Action::Reject("icmp port-unreachable".into()));
        assert_eq!(rules[3].matches, [Match::InIface(Neg { negated: false, value: "lo".into() })]);
        assert!(rules.iter().all(|r| !r.matches.iter().any(|m| matches!(m, Match::Unknown(_)))));
    }

    /// fw4's user rules (tests/fixtures/fw4-rules.nft through `nft -f` and `nft -j`): all read
    /// but the two that depend on what no ruleset holds — the time of day and the client's DSCP
    /// marking — which stay unknown, named.
    #[test]
    fn fw4_user_rules_are_read_but_time_and_dscp() {
        let text = include_str!("../tests/fixtures/fw4-rules.json");
        let nf = parse_ruleset("fw4-rules.json", text).unwrap();
        let wan = nf.tables[0].chains.iter().find(|c| c.name == "input_wan").unwrap();
        let unread: Vec<Vec<&Match>> = nf.tables[0]
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .map(|r| r.matches.iter().filter(|m| matches!(m, Match::Unknown(_))).collect::<Vec<_>>())
            .filter(|u| !u.is_empty())
            .collect();
        let texts: Vec<String> = unread.iter().flatten().map(|m| format!("{m:?}")).collect();
        assert_eq!(unread.len(), 2, "{texts:#?}");
        assert!(texts[0].contains("hour") && texts[1].contains("hour") && texts[2].contains("dscp"), "{texts:#?}");
        assert_eq!(
            wan.rules[1].matches,
            [
                Match::ProtoIn(Neg { negated: false, value: vec![6, 17] }),
                Match::DstPort(Neg { negated: false, value: vec![(53, 53)] })
            ]
        );
        assert_eq!(wan.rules[0].matches[1], Match::SetSrc(Neg { negated: false, value: "blocklist".into() }));
        let set = nf.sets.iter().find(|s| s.name == "blocklist").unwrap();
        assert_eq!(set.members.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn port_orderings_are_ranges() {
        let rule = |op: &str, n: u64| {
            let m =
                serde_json::json!({"op": op, "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": n});
            let mut out = Vec::new();
            parse_match(&m, &mut out);
            out
        };
        let dport = |a, b| Match::DstPort(Neg { negated: false, value: vec![(a, b)] });
        assert_eq!(rule(">=", 1024)[1], dport(1024, 65535));
        assert_eq!(rule("<", 1024)[1], dport(0, 1023));
        assert_eq!(rule(">", 65535)[1], Match::ProtoIn(Neg { negated: false, value: vec![] }));
    }

    /// OpenWrt fw4's default ruleset (tests/fixtures/fw4-default.nft, loaded with `nft -f` in a
    /// namespace, dumped with `nft -j list ruleset`): every expression in every chain is read,
    /// the ICMPv6 `type . code` sets of its neighbor discovery rules too.
    #[test]
    fn fw4_default_ruleset_is_read_whole() {
        let text = include_str!("../tests/fixtures/fw4-default.json");
        let nf = parse_ruleset("fw4-default.json", text).unwrap();
        let fw4 = &nf.tables[0];
        assert_eq!(fw4.chains.len(), 29);
        assert!(nf.unmodeled.is_empty(), "{:?}", nf.unmodeled);
        let mut unread = Vec::new();
        for c in &fw4.chains {
            for r in &c.rules {
                let unknown =
                    r.matches.iter().any(|m| matches!(m, Match::Unknown(_))) || matches!(r.action, Action::Unknown(_));
                if unknown {
                    unread.push(format!("{}: {}", c.name, r.text));
                }
            }
        }
        assert!(unread.is_empty(), "{unread:#?}");
        let input = fw4.chains.iter().find(|c| c.name == "input").unwrap();
        assert!(matches!(&input.rules[1].action, Action::Vmap { key, .. } if key == &[MapKey::CtState]));
        let syn_flood = fw4.chains.iter().find(|c| c.name == "syn_flood").unwrap();
        assert!(matches!(syn_flood.rules[0].matches[0], Match::Traffic { probe: true, .. }));
    }

    #[test]
    fn bad_documents_name_the_place() {
        assert!(parse_ruleset("n", "{}").unwrap_err().to_string().starts_with("n: nftables:"));
        assert!(parse_ruleset("n", "[1,").unwrap_err().message.starts_with("not valid JSON"));
        let e = parse_ruleset("n", r#"{"nftables":[{"rule":{"family":"inet","table":"x","chain":"y","expr":[]}}]}"#)
            .unwrap_err();
        assert!(e.message.contains("a rule of chain inet x y, which is not listed"), "{e}");
    }

    #[test]
    fn objects_that_cannot_be_read_are_kept_as_unknown_or_named() {
        let doc = r#"{"nftables":[
            {"table":{"family":"ip","name":"filter"}},
            {"chain":{"family":"ip","table":"filter","name":"input","hook":"input","prio":0,"policy":"drop"}},
            {"rule":{"family":"ip","table":"filter","chain":"input","handle":4}},
            {"rule":{"family":"ip","table":"filter","chain":"inptu","expr":[{"accept":null}]}},
            {"rule":{"family":"ip","chain":"input","expr":[{"accept":null}]}},
            {"chain":{"family":"ip","table":"nope","name":"c"}},
            {"rule":{"family":"ip","table":"filter","chain":"input","expr":[{"xt":{"type":"match","name":"conntrack"}},{"xt":{"type":"target","name":"REJECT"}}]}}
        ]}"#;
        let r = read_ruleset("n", doc).unwrap();
        let input = &r.nf.tables[0].chains[0];
        assert_eq!(input.rules.len(), 2);
        assert!(matches!(&input.rules[0].matches[..], [Match::Unknown(t)] if t.contains("without expressions")));
        assert!(matches!(input.rules[0].action, Action::Unknown(_)));
        assert_eq!(input.rules[1].matches, vec![Match::Unknown("iptables extension match conntrack".into())]);
        assert_eq!(input.rules[1].action, Action::Unknown("iptables extension target REJECT".into()));
        assert_eq!(r.xt_tables, [(FwFamily::Ip, "filter".to_string())]);
        assert_eq!(r.unplaced.len(), 3, "{:?}", r.unplaced);
        assert!(r.unplaced[0].contains("chain ip filter inptu, which is not listed"), "{:?}", r.unplaced);
        assert!(r.unplaced[1].contains("has no table"), "{:?}", r.unplaced);
        let r = read_ruleset("n", r#"{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[5,{"accept":null}]}}]}"#).unwrap();
        assert_eq!(r.nf.tables[0].chains[0].rules[0].matches, vec![Match::Unknown("5 (not an nft statement)".into())]);
    }

    #[test]
    fn dnat_maps_translate_by_key() {
        // `dnat to tcp dport map { 8080 : 10.0.1.10 . 80, 8443 : 10.0.1.11 . 443 }` and an
        // address-only map, as nft 1.0.6 prints them.
        let doc = r#"{"nftables":[{"table":{"family":"ip","name":"nat"}},
            {"chain":{"family":"ip","table":"nat","name":"prerouting","type":"nat","hook":"prerouting","prio":-100,"policy":"accept"}},
            {"rule":{"family":"ip","table":"nat","chain":"prerouting","expr":[{"dnat":{"family":"ip","addr":{"map":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[[8080,{"concat":["10.0.1.10",80]}],[8443,{"concat":["10.0.1.11",443]}]]}}}}}]}},
            {"rule":{"family":"ip","table":"nat","chain":"prerouting","expr":[{"dnat":{"addr":{"map":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[[9000,"10.0.1.12"]]}}}}}]}},
            {"rule":{"family":"ip","table":"nat","chain":"prerouting","expr":[{"dnat":{"addr":{"prefix":{"addr":"10.0.0.0","len":8}}}}]}}]}"#;
        let nf = parse_ruleset("n", doc).unwrap();
        let rules = &nf.tables[0].chains[0].rules;
        let dnat = |a: &str, p: Option<u16>| Action::Dnat { addr: Some(a.parse().unwrap()), port: p, redirect: false };
        assert_eq!(rules[0].matches, vec![Match::Proto(Neg { negated: false, value: 6 })]);
        assert_eq!(
            rules[0].action,
            Action::Vmap {
                key: vec![MapKey::DstPort],
                elements: vec![
                    (vec![MapVal::Ports(8080, 8080)], dnat("10.0.1.10", Some(80))),
                    (vec![MapVal::Ports(8443, 8443)], dnat("10.0.1.11", Some(443))),
                ],
            }
        );
        let Action::Vmap { elements, .. } = &rules[1].action else { panic!("{:?}", rules[1]) };
        assert_eq!(elements[0].1, dnat("10.0.1.12", None));
        assert!(matches!(rules[2].action, Action::Unknown(_)), "a destination it cannot read is not 'none'");
    }
}
