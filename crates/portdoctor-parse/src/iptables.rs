//! `iptables-save` / `ip6tables-save` output (both the nf_tables and the legacy backend print the
//! same format) → netfilter tables. Matches the engine does not model are kept as
//! `Match::Unknown` with their text, never dropped.

use crate::ParseError;
use portdoctor_model::firewall::{
    Action, AddrType, Backend, BaseInfo, Chain, ChainKind, FwFamily, Hook, MarkSet, Match, Neg, Rule, Table, ct,
    icmp_type,
};
use portdoctor_model::net::Cidr;
use std::borrow::Cow;
use std::net::IpAddr;

/// Shell-like words: iptables-save quotes comments with double quotes and backslash escapes.
/// Unquoted words borrow from the line (a kube-proxy save has millions of them).
fn words<'a>(file: &str, line_no: usize, line: &'a str) -> Result<Vec<Cow<'a, str>>, ParseError> {
    let mut out = Vec::with_capacity(24);
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'"' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i].is_ascii_whitespace() {
            out.push(Cow::Borrowed(&line[start..i]));
            continue;
        }
        // A quoted part: build the word with escapes resolved.
        let mut word = String::from(&line[start..i]);
        let mut chars = line[i..].char_indices();
        let mut end = line.len();
        let mut in_quote = false;
        while let Some((off, c)) = chars.next() {
            match c {
                '"' => in_quote = !in_quote,
                '\\' if in_quote => word.extend(chars.next().map(|(_, c)| c)),
                c if c.is_whitespace() && !in_quote => {
                    end = i + off;
                    break;
                }
                c => word.push(c),
            }
        }
        if in_quote {
            return Err(ParseError::new(file, format!("line {line_no}"), "unterminated quote"));
        }
        out.push(Cow::Owned(word));
        i = end;
    }
    Ok(out)
}

fn builtin(table: &str, chain: &str) -> Option<(Hook, i32)> {
    let hook = match chain {
        "PREROUTING" => Hook::Prerouting,
        "INPUT" => Hook::Input,
        "FORWARD" => Hook::Forward,
        "OUTPUT" => Hook::Output,
        "POSTROUTING" => Hook::Postrouting,
        _ => return None,
    };
    // Priorities of the iptables tables (linux/netfilter_ipv4.h NF_IP_PRI_*).
    let prio = match (table, hook) {
        ("raw", _) => -300,
        ("mangle", _) => -150,
        ("nat", Hook::Prerouting | Hook::Output) => -100,
        ("nat", _) => 100,
        ("filter", _) => 0,
        ("security", _) => 50,
        _ => return None,
    };
    Some((hook, prio))
}

/// IP protocols by name: every name and alias of Debian's /etc/protocols (netbase 6.4), which
/// iptables-save and nft print through getprotobynumber(3), plus iptables' own names
/// (libxtables' `xtables_chain_protos`: icmpv6, mh, ipv6-mh, all). `all`, `ip` and `hopopt` are
/// 0, which iptables reads as "any protocol".
const PROTOCOLS: &[(&str, u8)] = &[
    ("all", 0),
    ("hopopt", 0),
    ("ip", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ip-encap", 4),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ipsec-esp", 50),
    ("ah", 51),
    ("ipsec-ah", 51),
    ("skip", 57),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("cphb", 73),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ospfigp", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

/// A protocol as iptables or nft prints it: a name (any case) or a number 0–255.
pub fn protocol_number(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let lower = s.to_ascii_lowercase();
    PROTOCOLS.iter().find(|(name, _)| *name == lower).map(|(_, n)| *n)
}

fn port_ranges(s: &str) -> Option<Vec<(u16, u16)>> {
    s.split(',')
        .map(|p| match p.split_once(':') {
            Some((a, b)) => Some((
                if a.is_empty() { 0 } else { a.parse().ok()? },
                if b.is_empty() { 65535 } else { b.parse().ok()? },
            )),
            None => p.parse().ok().map(|n| (n, n)),
        })
        .collect()
}

fn cidrs(s: &str) -> Option<Vec<Cidr>> {
    s.split(',')
        .map(|a| {
            // iptables-save may print a dotted netmask (`10.0.0.0/255.0.0.0`) for odd masks.
            if let Some((addr, mask)) = a.split_once('/')
                && let Ok(m) = mask.parse::<std::net::Ipv4Addr>()
            {
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() == 32 {
                    return Cidr::new(addr.parse().ok()?, bits.leading_ones() as u8);
                }
                return None;
            }
            a.parse::<Cidr>().ok()
        })
        .collect()
}

/// An IP range `a-b` as the CIDRs that cover it exactly.
fn range_cidrs(s: &str) -> Option<Vec<Cidr>> {
    let (a, b) = s.split_once('-')?;
    range_to_cidrs(a, b)
}

pub(crate) fn range_to_cidrs(a: &str, b: &str) -> Option<Vec<Cidr>> {
    let (a, b): (IpAddr, IpAddr) = (a.parse().ok()?, b.parse().ok()?);
    let mut set = portdoctor_model::addrset::AddrSet::empty(portdoctor_model::net::Family::of(&a));
    let (lo, hi) = match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u128::from(u32::from(x)), u128::from(u32::from(y))),
        (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x), u128::from(y)),
        _ => return None,
    };
    if lo > hi {
        return None;
    }
    set = set.union(&portdoctor_model::addrset::AddrSet::from_range(portdoctor_model::net::Family::of(&a), lo, hi));
    Some(set.to_cidrs(usize::MAX).0)
}

fn ct_states(s: &str) -> Option<u8> {
    s.split(',').try_fold(0u8, |acc, st| {
        Some(
            acc | match st {
                "NEW" => ct::NEW,
                "ESTABLISHED" => ct::ESTABLISHED,
                "RELATED" => ct::RELATED,
                "INVALID" => ct::INVALID,
                "UNTRACKED" => ct::UNTRACKED,
                "SNAT" => ct::SNAT,
                "DNAT" => ct::DNAT,
                _ => return None,
            },
        )
    })
}

fn tcp_flag_bits(s: &str) -> Option<u8> {
    s.split(',').try_fold(0u8, |acc, f| {
        Some(
            acc | match f {
                "FIN" => 1,
                "SYN" => 2,
                "RST" => 4,
                "PSH" => 8,
                "ACK" => 16,
                "URG" => 32,
                "ALL" => 63,
                "NONE" => 0,
                _ => return None,
            },
        )
    })
}

/// Options that start a new part of a rule (so an unknown module's options end before them).
fn is_top(w: &str) -> bool {
    matches!(w, "-m" | "-j" | "-g" | "-s" | "-d" | "-p" | "-i" | "-o" | "!" | "-f" | "-c")
}

const MODELED_MODULES: &[&str] = &[
    "tcp",
    "udp",
    "multiport",
    "conntrack",
    "state",
    "set",
    "comment",
    "iprange",
    "addrtype",
    "icmp",
    "icmp6",
    "mark",
];

/// Modules read with their options: the ones decided by traffic history that no snapshot holds —
/// `limit`, `hashlimit`, `recent`, `connlimit` — as a probe connection from a quiet client meets
/// them (xt_limit, xt_hashlimit, xt_recent, xt_connlimit); `rpfilter` (firewalld's reverse-path
/// check in raw PREROUTING), `pkttype`, and the IPv6 extension-header matches (`rt`, `frag`,
/// `hbh`, `dst`). `None` for another module. `opts` are the words after
/// the module name; the count says how many are the module's own.
fn module_match(module: &str, opts: &[Cow<'_, str>]) -> Option<(Match, usize)> {
    let mut own: Vec<&str> = Vec::new();
    for (n, o) in opts.iter().enumerate() {
        if is_top(o) && !(o == "!" && opts.get(n + 1).is_some_and(|x| x.starts_with("--"))) {
            break;
        }
        own.push(o);
    }
    let val = |name: &str| own.iter().position(|o| *o == name).and_then(|p| own.get(p + 1)).copied();
    let has = |name: &str| own.contains(&name);
    // `! --rcheck`: the option after a `!` is negated.
    let negated = |name: &str| own.iter().position(|o| *o == name).is_some_and(|p| p > 0 && own[p - 1] == "!");
    let text = format!("-m {module} {}", own.join(" "));
    let exact = |m: Match| Some((m, own.len()));
    let (probe, under_load) = match module {
        // xt_rpfilter: a route back to the source by the interface the packet came in on;
        // `--invert` matches the packets without one. `--loose` (any route back) is not modelled.
        "rpfilter" if has("--loose") => return exact(Match::Unknown(text)),
        "rpfilter" => return exact(Match::ReversePath(Neg { negated: false, value: !has("--invert") })),
        "rt" | "frag" | "hbh" | "dst" => return exact(Match::ExtHeader(text)),
        "pkttype" => {
            return exact(match val("--pkt-type") {
                Some(t) => Match::PktType(Neg { negated: negated("--pkt-type"), value: t.to_string() }),
                None => Match::Unknown(text),
            });
        }
        "limit" => {
            let rate = val("--limit").unwrap_or("3/hour");
            let burst = val("--limit-burst").unwrap_or("5");
            (true, format!("matches up to {rate} (burst {burst}) of the packets it sees, then stops matching"))
        }
        "hashlimit" => {
            let per = val("--hashlimit-mode").map_or(String::new(), |m| format!(" per {m}"));
            let burst = val("--hashlimit-burst").unwrap_or("5");
            match (val("--hashlimit-above"), val("--hashlimit-upto").or(val("--hashlimit"))) {
                (Some(r), _) => {
                    (false, format!("matches only above {r}{per} (burst {burst}), which one probe does not reach"))
                }
                (None, Some(r)) => (true, format!("matches up to {r}{per} (burst {burst}), then stops matching")),
                (None, None) => return exact(Match::Unknown(text)),
            }
        }
        "recent" => {
            let list = format!(
                "the list {} (/proc/net/xt_recent/{0}: no snapshot holds it)",
                val("--name").unwrap_or("DEFAULT")
            );
            if has("--set") {
                // --set adds the source and matches.
                (!negated("--set"), format!("records each source in {list}"))
            } else if let Some(opt) = ["--rcheck", "--update", "--remove"].into_iter().find(|o| has(o)) {
                let within = val("--seconds").map_or(String::new(), |s| format!(" within {s} s"));
                let hits = val("--hitcount").map_or(String::new(), |h| format!(" {h} times"));
                (negated(opt), format!("matches a source seen{hits}{within} in {list}; a quiet client is not in it"))
            } else {
                return exact(Match::Unknown(text));
            }
        }
        "connlimit" => match (val("--connlimit-above"), val("--connlimit-upto")) {
            (Some(n), _) => (false, format!("matches once a client has more than {n} connections open")),
            (None, Some(n)) => (true, format!("matches while a client has at most {n} connections open")),
            _ => return exact(Match::Unknown(text)),
        },
        _ => return None,
    };
    Some((Match::Traffic { probe, text, under_load }, own.len()))
}

/// `0x4000`, `16384`, `0x4000/0x4000` → (value, mask); the mask defaults to all bits.
fn mark_value(s: &str) -> Option<(u32, u32)> {
    let num = |t: &str| match t.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    };
    match s.split_once('/') {
        Some((v, m)) => Some((num(v)?, num(m)?)),
        None => Some((num(s)?, u32::MAX)),
    }
}

/// The MARK target's options (xt_MARK, revision 2: everything reduces to and-not-mask, xor).
fn mark_target(opts: &[&str]) -> Option<MarkSet> {
    let (opt, val) = (opts.first()?, opts.get(1)?);
    let (v, m) = mark_value(val)?;
    Some(match *opt {
        "--set-xmark" => MarkSet { mask: m, xor: v },
        "--set-mark" => MarkSet { mask: m | v, xor: v },
        "--or-mark" => MarkSet { mask: v, xor: v },
        "--and-mark" => MarkSet { mask: !v, xor: 0 },
        "--xor-mark" => MarkSet { mask: 0, xor: v },
        _ => return None,
    })
}

/// What one rule has read so far.
#[derive(Default)]
struct RuleParts {
    matches: Vec<Match>,
    action: Option<Action>,
    comment: Option<String>,
    mark: Option<MarkSet>,
    secmark: bool,
}

/// Reads one option of a rule at `w[i]` (after `neg`, a preceding `!`); returns where the next
/// one starts, or why this one cannot be read.
fn rule_option(w: &[Cow<'_, str>], mut i: usize, neg: bool, r: &mut RuleParts) -> Result<usize, String> {
    let opt: &str = &w[i];
    let arg = |i: usize| -> Result<&str, String> {
        w.get(i + 1).map(|s| s.as_ref()).ok_or_else(|| format!("{} needs a value", w[i]))
    };
    let matches = &mut r.matches;
    match opt {
        "-c" => i += 3,
        "-p" => {
            let v = arg(i)?;
            let p = protocol_number(v).ok_or_else(|| format!("unknown protocol '{v}'"))?;
            if p != 0 {
                matches.push(Match::Proto(Neg { negated: neg, value: p }));
            }
            i += 2;
        }
        "-s" | "-d" | "--src-range" | "--dst-range" => {
            let v = arg(i)?;
            let list = if opt.ends_with("range") { range_cidrs(v) } else { cidrs(v) }
                .ok_or_else(|| format!("bad address '{v}'"))?;
            let n = Neg { negated: neg, value: list };
            matches.push(if opt == "-s" || opt == "--src-range" { Match::Src(n) } else { Match::Dst(n) });
            i += 2;
        }
        "-i" | "-o" => {
            let n = Neg { negated: neg, value: arg(i)?.to_string() };
            matches.push(if opt == "-i" { Match::InIface(n) } else { Match::OutIface(n) });
            i += 2;
        }
        "--dport"
        | "--sport"
        | "--dports"
        | "--sports"
        | "--destination-port"
        | "--source-port"
        | "--destination-ports"
        | "--source-ports" => {
            let v = arg(i)?;
            let ports = port_ranges(v).ok_or_else(|| format!("bad port list '{v}'"))?;
            let n = Neg { negated: neg, value: ports };
            matches.push(if opt.starts_with("--d") { Match::DstPort(n) } else { Match::SrcPort(n) });
            i += 2;
        }
        "--mark" => {
            let v = arg(i)?;
            let m = mark_value(v).ok_or_else(|| format!("bad mark '{v}'"))?;
            matches.push(Match::Mark(Neg { negated: neg, value: m }));
            i += 2;
        }
        "--ctorigdst" => {
            let v = arg(i)?;
            let list = cidrs(v).ok_or_else(|| format!("bad address '{v}'"))?;
            matches.push(Match::CtOrigDst(Neg { negated: neg, value: list }));
            i += 2;
        }
        "--ctorigdstport" => {
            let v = arg(i)?;
            let ports = port_ranges(v).ok_or_else(|| format!("bad port '{v}'"))?;
            matches.push(Match::CtOrigDstPort(Neg { negated: neg, value: ports }));
            i += 2;
        }
        "--ctdir" => {
            let original = match arg(i)? {
                "ORIGINAL" => true,
                "REPLY" => false,
                other => return Err(format!("bad --ctdir '{other}'")),
            };
            matches.push(Match::CtDirOriginal(Neg { negated: neg, value: original }));
            i += 2;
        }
        "--ctstate" | "--state" => {
            let v = arg(i)?;
            let s = ct_states(v).ok_or_else(|| format!("bad conntrack state '{v}'"))?;
            matches.push(Match::CtState(Neg { negated: neg, value: s }));
            i += 2;
        }
        "--match-set" => {
            let name = arg(i)?.to_string();
            let dirs = w.get(i + 2).ok_or("--match-set needs a direction")?;
            let n = Neg { negated: neg, value: name };
            matches.push(match dirs.as_ref() {
                "src" => Match::SetSrc(n),
                "dst" => Match::SetDst(n),
                other => Match::Unknown(format!("-m set --match-set {} {other}", n.value)),
            });
            i += 3;
        }
        "--comment" => {
            r.comment = Some(arg(i)?.to_string());
            i += 2;
        }
        "--dst-type" | "--src-type" => {
            let n = Neg { negated: neg, value: AddrType::from(arg(i)?) };
            matches.push(if opt == "--dst-type" { Match::DstAddrType(n) } else { Match::SrcAddrType(n) });
            i += 2;
        }
        "--tcp-flags" => {
            let mask = tcp_flag_bits(arg(i)?).ok_or("bad --tcp-flags mask")?;
            let comp =
                tcp_flag_bits(w.get(i + 2).map(|s| s.as_ref()).unwrap_or("")).ok_or("bad --tcp-flags comparison")?;
            matches.push(Match::TcpFlags(Neg { negated: neg, value: (mask, comp) }));
            i += 3;
        }
        "--syn" => {
            matches.push(Match::TcpFlags(Neg { negated: neg, value: (1 | 2 | 4 | 16, 2) }));
            i += 1;
        }
        "--icmp-type" | "--icmpv6-type" => {
            let v = arg(i)?;
            // A type without a code is modelled; `type/code` and code names stay unknown.
            match icmp_type(v, opt == "--icmpv6-type") {
                _ if v == "any" => {}
                Some(t) if !v.contains('/') => matches.push(Match::IcmpType(Neg { negated: neg, value: vec![t] })),
                _ => matches.push(Match::Unknown(format!("{}{opt} {v}", if neg { "! " } else { "" }))),
            }
            i += 2;
        }
        "-m" => {
            let module = arg(i)?;
            i += 2;
            if let Some((m, used)) = module_match(module, &w[i..]) {
                matches.push(m);
                i += used;
            } else if module == "statistic" {
                let mut text = String::from("-m statistic");
                while i < w.len() && !is_top(&w[i]) {
                    text.push(' ');
                    text.push_str(&w[i]);
                    i += 1;
                }
                matches.push(Match::Statistic(text));
            } else if !MODELED_MODULES.contains(&module) {
                // Keep the whole module with its options as one unknown match.
                let mut text = format!("{}-m {module}", if neg { "! " } else { "" });
                while i < w.len() && !is_top(&w[i]) {
                    text.push(' ');
                    text.push_str(&w[i]);
                    i += 1;
                }
                matches.push(Match::Unknown(text));
            }
        }
        "-j" | "-g" => {
            let target = arg(i)?.to_string();
            i += 2;
            let mut opts: Vec<&str> = Vec::new();
            while i < w.len() && !is_top(&w[i]) {
                opts.push(&w[i]);
                i += 1;
            }
            r.secmark |= matches!(target.as_str(), "SECMARK" | "CONNSECMARK");
            r.action =
                Some(if opt == "-g" { Action::Goto(target) } else { target_action(&target, &opts, &mut r.mark) });
        }
        other if other.starts_with("[unsupported") => {
            return Err(format!(
                "iptables printed '{}' here: the kernel holds a revision of this extension that this iptables cannot print",
                w[i..].iter().take(2).map(|s| s.as_ref()).collect::<Vec<_>>().join(" ")
            ));
        }
        other if other.starts_with("--") => {
            // An option of a modeled module that we do not interpret: unknown, with its value.
            let mut text = other.to_string();
            i += 1;
            while i < w.len() && !w[i].starts_with('-') {
                text.push(' ');
                text.push_str(&w[i]);
                i += 1;
            }
            matches.push(Match::Unknown(format!("{}{text}", if neg { "! " } else { "" })));
        }
        "-f" => {
            matches.push(Match::Unknown(format!("{}-f", if neg { "! " } else { "" })));
            i += 1;
        }
        other => return Err(format!("unexpected '{other}'")),
    }
    Ok(i)
}

/// A `-j TARGET` with its options.
fn target_action(target: &str, opts: &[&str], mark: &mut Option<MarkSet>) -> Action {
    let opt_val = |name: &str| opts.iter().position(|o| *o == name).and_then(|p| opts.get(p + 1)).copied();
    if opts.iter().any(|o| o.starts_with("[unsupported")) {
        // iptables could not print the target's options: what it does is not known.
        return Action::Unknown(format!("-j {target} {}", opts.join(" ")));
    }
    match target {
        "ACCEPT" => Action::Accept,
        "DROP" => Action::Drop,
        "RETURN" => Action::Return,
        "REJECT" => Action::Reject(opt_val("--reject-with").unwrap_or("icmp-port-unreachable").into()),
        "MARK" => match mark_target(opts) {
            Some(m) => {
                *mark = Some(m);
                Action::Continue
            }
            None => Action::Unknown(format!("-j MARK {}", opts.join(" "))),
        },
        // SECMARK/CONNSECMARK label packets for SELinux (judged by the SELinux layer); for
        // netfilter they go on like LOG.
        "LOG" | "NFLOG" | "ULOG" | "CONNMARK" | "SECMARK" | "CONNSECMARK" | "TRACE" | "AUDIT" | "CLASSIFY"
        | "TCPMSS" | "DSCP" | "TOS" | "TTL" | "HL" | "CHECKSUM" => Action::Continue,
        "NOTRACK" => Action::Notrack,
        "CT" if opts.contains(&"--notrack") => Action::Notrack,
        "CT" => Action::Continue,
        "REDIRECT" => {
            let port = opt_val("--to-ports").and_then(|p| p.split(['-', ':']).next()).and_then(|p| p.parse().ok());
            Action::Dnat { addr: None, port, redirect: true }
        }
        "DNAT" => match split_addr_port(opt_val("--to-destination").unwrap_or("")) {
            // A destination that cannot be read would otherwise look like "no translation".
            (None, None) => Action::Unknown(format!("-j DNAT {}", opts.join(" "))),
            (addr, port) => Action::Dnat { addr, port, redirect: false },
        },
        "SNAT" => Action::Snat { addr: split_addr_port(opt_val("--to-source").unwrap_or("")).0 },
        "MASQUERADE" => Action::Snat { addr: None },
        t if t.chars().all(|c| c.is_ascii_uppercase()) && !opts.is_empty() => {
            Action::Unknown(format!("-j {t} {}", opts.join(" ")))
        }
        "QUEUE" | "NFQUEUE" | "TPROXY" | "SET" | "HMARK" => Action::Unknown(format!("-j {target}")),
        _ => Action::Jump(target.to_string()),
    }
}

/// One `-A CHAIN …` line → its chain and rule. A part that cannot be read never loses the
/// rule: it becomes an unknown match (with the text and why), so the walk forks on it as on any
/// match it does not model, and the target is still read when it can be.
fn parse_rule(text: &str, w: &[Cow<'_, str>]) -> (Option<String>, Rule) {
    let chain = w.get(1).map(|c| c.to_string());
    let mut r = RuleParts::default();
    let mut i = 2;
    let mut neg = false;
    while i < w.len() {
        if w[i] == "!" {
            neg = true;
            i += 1;
            continue;
        }
        match rule_option(w, i, neg, &mut r) {
            Ok(next) => i = next,
            Err(why) => {
                let is_target = |x: &Cow<'_, str>| x == "-j" || x == "-g";
                let end = if is_target(&w[i]) {
                    w.len()
                } else {
                    w[i..].iter().position(is_target).map_or(w.len(), |p| i + p)
                };
                let span = w[i..end].iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(" ");
                let part = format!("{}{span}", if neg { "! " } else { "" });
                if is_target(&w[i]) {
                    r.action = Some(Action::Unknown(format!("{part} (not readable: {why})")));
                } else {
                    r.matches.push(Match::Unknown(format!("{part} (not readable: {why})")));
                }
                i = end;
            }
        }
        neg = false;
    }
    let rule = Rule {
        matches: r.matches,
        action: r.action.unwrap_or(Action::Continue),
        text: text.to_string(),
        comment: r.comment,
        mark: r.mark,
        secmark: r.secmark,
    };
    (chain, rule)
}

/// A rule line whose words cannot even be split (an unterminated quote): unknown as a whole.
fn unreadable_rule(text: &str, why: &str) -> (Option<String>, Rule) {
    let chain = text.split_whitespace().nth(1).map(str::to_string);
    let rule = Rule {
        matches: vec![Match::Unknown(format!("the whole rule (not readable: {why})"))],
        action: Action::Unknown(format!("the target of a rule that could not be read ({why})")),
        text: text.to_string(),
        comment: None,
        mark: None,
        secmark: false,
    };
    (chain, rule)
}

/// `1.2.3.4:80`, `[::1]:80`, `1.2.3.4`, `:80`.
fn split_addr_port(s: &str) -> (Option<IpAddr>, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']').unwrap_or((rest, ""));
        return (a.parse().ok(), p.trim_start_matches(':').split('-').next().and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') => (a.parse().ok(), p.split('-').next().and_then(|p| p.parse().ok())),
        _ => (s.split('-').next().and_then(|a| a.parse().ok()), None),
    }
}

/// One save output as read: its tables, the tables iptables itself says it cannot show, and
/// the parts of tables that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Save {
    pub tables: Vec<Table>,
    /// Tables iptables-nft marks incompatible (`# Table `filter' is incompatible, use 'nft'
    /// tool.` up to 1.8.8; `… contains incompatible base-chains, use 'nft' tool to list them.`
    /// from 1.8.9, followed by the part it can show): native nftables tables of the same name
    /// that iptables-nft cannot read in full. What the save shows of them is not the table.
    pub incompatible: Vec<String>,
    /// Tables (by name) with lines that could not be placed, and why: such a table is not
    /// fully known.
    pub unreadable: Vec<(String, String)>,
}

impl Save {
    /// The tables the save holds in full: not marked incompatible, nothing unreadable.
    pub fn complete_tables(&self) -> impl Iterator<Item = &Table> {
        self.tables
            .iter()
            .filter(|t| !self.incompatible.contains(&t.name) && !self.unreadable.iter().any(|(n, _)| *n == t.name))
    }
}

/// The name in iptables-nft's "# Table `NAME' is incompatible…" / "…contains incompatible
/// base-chains…" comment.
fn incompatible_table(comment: &str) -> Option<&str> {
    let rest = comment.trim_start_matches('#').trim_start().strip_prefix("Table `")?;
    let (name, after) = rest.split_once('\'')?;
    after.contains("incompatible").then_some(name)
}

/// The tables a save output holds in full by iptables-nft's own account (`*NAME` lines, less the
/// ones it marks incompatible), each with its number of rules, without reading the rules.
pub fn held_tables(text: &str) -> Vec<(String, usize)> {
    let mut held: Vec<(String, usize)> = Vec::new();
    let mut incompatible = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('*') {
            held.push((name.to_string(), 0));
        } else if line.starts_with("-A ")
            && let Some((_, n)) = held.last_mut()
        {
            *n += 1;
        } else if let Some(name) = line.strip_prefix('#').and_then(incompatible_table) {
            incompatible.push(name.to_string());
        }
    }
    held.retain(|(t, _)| !incompatible.contains(t));
    held
}

/// The tables of iptables (x_tables names); any other name is not a table iptables-save prints.
pub const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// Reads one save output. `family` is `Ip` for iptables-save, `Ip6` for ip6tables-save.
///
/// Only what makes the whole output meaningless is an error: text outside any table (not
/// iptables-save output at all) and a last table cut off before COMMIT. A rule that cannot be
/// read stays in its chain as an unknown rule; any other line that cannot be read makes its table
/// unreadable (`Save::unreadable`), never the file.
pub fn read_save(file: &str, text: &str, backend: Backend, family: FwFamily) -> Result<Save, ParseError> {
    let mut save = Save::default();
    let mut open = false;
    // Chain name → position in the open table (kube-proxy saves hold tens of thousands).
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if let Some(name) = line.strip_prefix('#').and_then(incompatible_table) {
            save.incompatible.push(name.to_string());
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if open && let Some(t) = save.tables.last() {
                let why = format!("line {line_no}: table {name} starts before this one's COMMIT (cut short)");
                save.unreadable.push((t.name.clone(), why));
            }
            if !TABLES.contains(&name) {
                save.unreadable.push((name.to_string(), format!("line {line_no}: '{name}' is not an iptables table")));
            }
            save.tables.push(Table { backend, family, name: name.to_string(), chains: Vec::new() });
            index.clear();
            open = true;
            continue;
        }
        let Some(table) = save.tables.last_mut().filter(|_| open) else {
            return Err(ParseError::new(
                file,
                format!("line {line_no}"),
                "a rule or chain outside a table (*filter …)",
            ));
        };
        let mut unreadable = |why: String| save.unreadable.push((table.name.clone(), format!("line {line_no}: {why}")));
        if line == "COMMIT" {
            open = false;
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let Some(name) = parts.next().map(str::to_string) else {
                unreadable("a chain declaration without a name".into());
                continue;
            };
            let policy = parts.next().unwrap_or("-");
            let base = builtin(&table.name, &name).map(|(hook, priority)| BaseInfo {
                hook,
                priority,
                kind: if table.name == "nat" { ChainKind::Nat } else { ChainKind::Filter },
                policy_accept: policy != "DROP",
                devices: vec![],
            });
            if base.is_some() && !matches!(policy, "ACCEPT" | "DROP") {
                unreadable(format!("built-in chain {name} has policy '{policy}'"));
            }
            index.insert(name.clone(), table.chains.len());
            table.chains.push(Chain { name, rules: Vec::new(), base });
        } else if line.starts_with("-A ") {
            let (chain, rule) = match words(file, line_no, line) {
                Ok(w) => parse_rule(line, &w),
                Err(e) => unreadable_rule(line, &e.message),
            };
            match chain.as_ref().and_then(|c| index.get(c)) {
                Some(at) => table.chains[*at].rules.push(rule),
                None => unreadable(format!(
                    "a rule for chain {}, which this table does not declare: {line}",
                    chain.as_deref().unwrap_or("(none)")
                )),
            }
        } else {
            unreadable(format!("unexpected line '{}'", line.chars().take(40).collect::<String>()));
        }
    }
    if open {
        return Err(ParseError::new(file, "end of file", "truncated: the last table has no COMMIT"));
    }
    Ok(save)
}

/// Reads a save output that must be whole: an unreadable part or an incompatible table is an
/// error here (for inputs written by hand or by portdoctor's own tests; a host's evidence is
/// read with `read_save`, which keeps going and says what it could not read).
pub fn parse_save(file: &str, text: &str, backend: Backend, family: FwFamily) -> Result<Vec<Table>, ParseError> {
    let save = read_save(file, text, backend, family)?;
    if let Some((table, why)) = save.unreadable.first() {
        return Err(ParseError::new(file, format!("table {table}"), why.clone()));
    }
    if let Some(table) = save.incompatible.first() {
        return Err(ParseError::new(file, format!("table {table}"), "iptables marks it incompatible (an nft table)"));
    }
    Ok(save.tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UFW: &str = r#"# Generated by iptables-nft-save v1.8.9 (nf_tables) on Thu Nov 26 10:00:00 2026
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ufw-before-input - [0:0]
:ufw-user-input - [0:0]
-A INPUT -j ufw-before-input
-A INPUT -j ufw-user-input
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT
-A ufw-user-input -p tcp -m multiport --dports 80,443,8000:8100 -m comment --comment "web \"front\"" -j ACCEPT
-A ufw-user-input ! -s 10.0.0.0/255.0.0.0 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
-A ufw-user-input -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW BLOCK] "
-A ufw-user-input -m set --match-set f2b-sshd src -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080
-A PREROUTING -d 203.0.113.10/32 -p tcp -j DNAT --to-destination 10.0.1.10:8443
COMMIT
"#;

    #[test]
    fn reads_a_ufw_style_ruleset() {
        let t = parse_save("iptables-nft.txt", UFW, Backend::IptablesNft, FwFamily::Ip).unwrap();
        assert_eq!(t.len(), 2);
        let input = &t[0].chains[0];
        assert_eq!(input.base.as_ref().unwrap().priority, 0);
        assert!(!input.base.as_ref().unwrap().policy_accept);
        let user = t[0].chains.iter().find(|c| c.name == "ufw-user-input").unwrap();
        assert_eq!(
            user.rules[1].matches[1],
            Match::DstPort(Neg { negated: false, value: vec![(80, 80), (443, 443), (8000, 8100)] })
        );
        assert_eq!(user.rules[1].comment.as_deref(), Some("web \"front\""));
        assert_eq!(
            user.rules[2].matches[0],
            Match::Src(Neg { negated: true, value: vec!["10.0.0.0/8".parse().unwrap()] })
        );
        assert_eq!(user.rules[2].action, Action::Reject("icmp-port-unreachable".into()));
        assert!(
            matches!(&user.rules[3].matches[0], Match::Traffic { probe: true, text, .. } if text == "-m limit --limit 3/min --limit-burst 10")
        );
        assert_eq!(user.rules[3].action, Action::Continue);
        assert_eq!(user.rules[4].matches[0], Match::SetSrc(Neg { negated: false, value: "f2b-sshd".into() }));
        let nat = &t[1].chains[0];
        assert_eq!(nat.base.as_ref().unwrap().priority, -100);
        assert_eq!(nat.rules[0].action, Action::Dnat { addr: None, port: Some(8080), redirect: true });
        assert_eq!(
            nat.rules[1].action,
            Action::Dnat { addr: Some("10.0.1.10".parse().unwrap()), port: Some(8443), redirect: false }
        );
    }

    #[test]
    fn only_a_file_that_is_not_a_save_is_an_error() {
        let cut = &UFW[..UFW.find("COMMIT").unwrap()];
        let e = parse_save("iptables-nft.txt", cut, Backend::IptablesNft, FwFamily::Ip).unwrap_err();
        assert_eq!(e.field, "end of file");
        let e = parse_save("f", "-A INPUT -j ACCEPT\n", Backend::IptablesNft, FwFamily::Ip).unwrap_err();
        assert_eq!(e.field, "line 1");
        let e = read_save("f", "<html>\n", Backend::IptablesNft, FwFamily::Ip).unwrap_err();
        assert_eq!(e.to_string(), "f: line 1: a rule or chain outside a table (*filter …)");
    }

    fn one_rule(rule: &str) -> Rule {
        let text = format!("*filter\n:INPUT DROP [0:0]\n:x - [0:0]\n{rule}\nCOMMIT\n");
        let save = read_save("f", &text, Backend::IptablesNft, FwFamily::Ip).unwrap();
        assert!(save.unreadable.is_empty(), "{:?}", save.unreadable);
        save.tables[0].chains.iter().flat_map(|c| c.rules.iter()).next().unwrap().clone()
    }

    #[test]
    fn protocols_by_every_name_iptables_prints_and_by_number() {
        for (name, n) in [
            ("esp", 50),
            ("ah", 51),
            ("gre", 47),
            ("sctp", 132),
            ("udplite", 136),
            ("icmpv6", 58),
            ("ipv6-icmp", 58),
            ("mh", 135),
            ("ipv6-mh", 135),
            ("ospf", 89),
            ("vrrp", 112),
            ("IPSEC-ESP", 50),
            ("112", 112),
        ] {
            assert_eq!(protocol_number(name), Some(n), "{name}");
        }
        assert_eq!(protocol_number("all"), Some(0));
        assert_eq!(protocol_number("256"), None);
        assert_eq!(protocol_number("nonesuch"), None);
        let r = one_rule("-A INPUT -p esp -j ACCEPT");
        assert_eq!((r.matches, r.action), (vec![Match::Proto(Neg { negated: false, value: 50 })], Action::Accept));
    }

    #[test]
    fn a_rule_that_cannot_be_read_is_an_unknown_rule_not_an_error() {
        // The readable part stays, the rest is one unknown match naming why, the target is read.
        let r = one_rule("-A INPUT -p tcp --dport x -j ACCEPT");
        assert_eq!(r.matches[0], Match::Proto(Neg { negated: false, value: 6 }));
        assert_eq!(r.matches[1], Match::Unknown("--dport x (not readable: bad port list 'x')".into()));
        assert_eq!(r.action, Action::Accept);
        assert_eq!(r.text, "-A INPUT -p tcp --dport x -j ACCEPT");
        let r = one_rule("-A INPUT -p nonesuch ! -s 10.0.0.0/8 -j DROP");
        assert!(matches!(&r.matches[0], Match::Unknown(t) if t.contains("unknown protocol 'nonesuch'")), "{r:?}");
        assert_eq!(r.action, Action::Drop);
        // A target that cannot be read is an unknown action.
        assert!(matches!(one_rule("-A INPUT -p tcp -j").action, Action::Unknown(t) if t.contains("-j needs a value")));
        // An unterminated quote: nothing of the rule can be trusted.
        let r = one_rule("-A INPUT -m comment --comment \"open -j ACCEPT");
        assert!(matches!(&r.matches[..], [Match::Unknown(t)] if t.contains("unterminated quote")), "{r:?}");
        assert!(matches!(r.action, Action::Unknown(_)));
        // A jump to a chain that does not exist is left to the walk, which says so.
        assert_eq!(one_rule("-A INPUT -j nowhere").action, Action::Jump("nowhere".into()));
        // iptables-nft could not print a revision of an extension.
        let r = one_rule("-A x -p tcp -m tcp -j DNAT [unsupported revision]");
        assert!(matches!(&r.action, Action::Unknown(t) if t.contains("[unsupported")), "{r:?}");
        let r = one_rule("-A x -m owner [unsupported revision] -j ACCEPT");
        assert!(matches!(&r.matches[..], [Match::Unknown(_)]), "{r:?}");
        assert_eq!(r.action, Action::Accept);
        let r = one_rule("-A x -m tcp [unsupported revision] -j ACCEPT");
        assert!(matches!(&r.matches[..], [Match::Unknown(t)] if t.contains("revision")), "{r:?}");
        // A DNAT whose destination cannot be read is not "no translation".
        assert!(matches!(one_rule("-A x -j DNAT --to-destination nowhere").action, Action::Unknown(_)));
    }

    #[test]
    fn lines_that_cannot_be_placed_make_their_table_unreadable() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUX -j DROP\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nbogus\nCOMMIT\n*raw\n:PREROUTING FOO [0:0]\nCOMMIT\n*filtr\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n*security\nCOMMIT\n";
        let save = read_save("f", text, Backend::IptablesNft, FwFamily::Ip).unwrap();
        let names: Vec<&str> = save.unreadable.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["filter", "nat", "raw", "filtr", "mangle"]);
        assert!(save.unreadable[0].1.contains("line 3: a rule for chain INPUX"), "{:?}", save.unreadable);
        assert_eq!(save.complete_tables().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["security"]);
        assert!(parse_save("f", text, Backend::IptablesNft, FwFamily::Ip).is_err());
    }

    #[test]
    fn tables_iptables_nft_marks_incompatible() {
        // 1.8.9 and later: the comment, then the part of the table iptables can show.
        let new = "# Table `filter' contains incompatible base-chains, use 'nft' tool to list them.\n# Generated by iptables-nft-save v1.8.9 (nf_tables) on Fri Dec  4 08:16:59 2026\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
        // Up to 1.8.8: the comment instead of the table.
        let old = "# Table `filter' is incompatible, use 'nft' tool.\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
        for text in [new, old] {
            let save = read_save("f", text, Backend::IptablesNft, FwFamily::Ip).unwrap();
            assert_eq!(save.incompatible, ["filter"]);
            assert_eq!(save.complete_tables().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["nat"]);
            assert_eq!(held_tables(text), [("nat".to_string(), 0)]);
        }
    }

    /// iptables-save (v1.8.9, nf_tables) of rate limits, `recent` lists and connection counts,
    /// loaded with iptables-restore in a namespace and saved back: each is the probe's answer,
    /// said as load-dependent, and the options after it are read as before.
    #[test]
    fn traffic_history_matches_are_a_probes_answer() {
        let text = include_str!("../tests/fixtures/iptables-history-matches.txt");
        let t = parse_save("iptables-history-matches.txt", text, Backend::IptablesNft, FwFamily::Ip).unwrap();
        let filter = t.iter().find(|t| t.name == "filter").unwrap();
        let rules = &filter.chains[0].rules;
        let traffic: Vec<(bool, &str)> = rules
            .iter()
            .map(|r| {
                r.matches
                    .iter()
                    .find_map(|m| match m {
                        Match::Traffic { probe, under_load, .. } => Some((*probe, under_load.as_str())),
                        _ => None,
                    })
                    .unwrap_or_else(|| panic!("no traffic match in {}", r.text))
            })
            .collect();
        let probes: Vec<bool> = traffic.iter().map(|(p, _)| *p).collect();
        // --set, --update, ! --rcheck, limit, hashlimit above, hashlimit upto, connlimit above, upto.
        assert_eq!(probes, [true, false, true, true, false, true, false, true]);
        assert!(traffic[1].1.contains("4 times within 60 s") && traffic[1].1.contains("/proc/net/xt_recent/SSH"));
        assert!(traffic[3].1.contains("10/min (burst 20)"), "{}", traffic[3].1);
        assert!(traffic[4].1.contains("20/sec per srcip"), "{}", traffic[4].1);
        // The rest of each rule is still read: the verdicts and the TCP flags after the module.
        assert_eq!(rules[1].action, Action::Drop);
        assert!(rules[3].matches.iter().any(|m| matches!(m, Match::TcpFlags(_))));
        assert_eq!(rules[6].action, Action::Reject("tcp-reset".into()));
        assert!(rules.iter().all(|r| !r.matches.iter().any(|m| matches!(m, Match::Unknown(_)))));
        // Docker 28's raw guard reads as written.
        let raw = t.iter().find(|t| t.name == "raw").unwrap();
        assert_eq!(raw.chains[0].base.as_ref().unwrap().priority, -300);
        assert_eq!(raw.chains[0].rules[0].matches[1], Match::InIface(Neg { negated: true, value: "docker0".into() }));
    }

    /// firewalld's iptables backend (ip6tables-save): its reverse-path check in raw PREROUTING,
    /// and a packet-type match, as iptables-nft-save v1.8.9 prints them.
    #[test]
    fn rpfilter_and_pkttype() {
        let save = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p ipv6-icmp -m icmp6 --icmpv6-type 134 -j ACCEPT\n-A PREROUTING -m rpfilter --invert -j DROP\n-A PREROUTING -m rpfilter --loose -j ACCEPT\n-A PREROUTING -m pkttype ! --pkt-type unicast -j DROP\nCOMMIT\n";
        let t = parse_save("ip6tables-save", save, Backend::IptablesNft, FwFamily::Ip6).unwrap();
        let rules = &t[0].chains[0].rules;
        assert_eq!(rules[1].matches, [Match::ReversePath(Neg { negated: false, value: false })]);
        assert_eq!(rules[1].action, Action::Drop);
        assert!(matches!(&rules[2].matches[0], Match::Unknown(t) if t.contains("--loose")));
        assert_eq!(rules[3].matches, [Match::PktType(Neg { negated: true, value: "unicast".into() })]);
    }

    #[test]
    fn iprange_becomes_exact_cidrs() {
        let t = parse_save(
            "f",
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.6 -j DROP\nCOMMIT\n",
            Backend::IptablesLegacy,
            FwFamily::Ip,
        )
        .unwrap();
        let Match::Src(n) = &t[0].chains[0].rules[0].matches[0] else { panic!() };
        let text: Vec<String> = n.value.iter().map(|c| c.to_string()).collect();
        assert_eq!(text, ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]);
    }
}
