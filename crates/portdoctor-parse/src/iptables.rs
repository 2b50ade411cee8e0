//! `iptables-save` / `ip6tables-save` output (both the nf_tables and the legacy backend print the
//! same format) → netfilter tables. Matches the engine does not model are kept as
//! `Match::Unknown` with their text, never dropped.

use crate::ParseError;
use portdoctor_model::firewall::{
    Action, Backend, BaseInfo, Chain, FwFamily, Hook, MarkSet, Match, Neg, Rule, Table, ct, icmp_type,
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

fn proto_number(s: &str) -> Option<u8> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmpv6" => Some(58),
        "sctp" => Some(132),
        "all" => Some(0),
        n => n.parse().ok(),
    }
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

fn parse_rule(file: &str, line_no: usize, text: &str, w: &[Cow<'_, str>]) -> Result<(String, Rule), ParseError> {
    let err = |m: String| ParseError::new(file, format!("line {line_no}"), m);
    let chain = w.get(1).map(|c| c.to_string()).ok_or_else(|| err("-A without a chain name".into()))?;
    let mut matches = Vec::new();
    let mut action = Action::Continue;
    let mut comment = None;
    let mut mark = None;
    let mut i = 2;
    let mut neg = false;
    let arg = |i: usize| -> Result<&str, ParseError> {
        w.get(i + 1).map(|s| s.as_ref()).ok_or_else(|| err(format!("{} needs a value", w[i])))
    };
    while i < w.len() {
        let opt: &str = &w[i];
        match opt {
            "!" => {
                neg = true;
                i += 1;
                continue;
            }
            "-c" => i += 3,
            "-p" => {
                let v = arg(i)?;
                let p = proto_number(v).ok_or_else(|| err(format!("unknown protocol '{v}'")))?;
                if p != 0 {
                    matches.push(Match::Proto(Neg { negated: neg, value: p }));
                }
                i += 2;
            }
            "-s" | "-d" | "--src-range" | "--dst-range" => {
                let v = arg(i)?;
                let list = if opt.ends_with("range") { range_cidrs(v) } else { cidrs(v) }
                    .ok_or_else(|| err(format!("bad address '{v}'")))?;
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
                let r = port_ranges(v).ok_or_else(|| err(format!("bad port list '{v}'")))?;
                let n = Neg { negated: neg, value: r };
                matches.push(if opt.starts_with("--d") { Match::DstPort(n) } else { Match::SrcPort(n) });
                i += 2;
            }
            "--mark" => {
                let v = arg(i)?;
                let m = mark_value(v).ok_or_else(|| err(format!("bad mark '{v}'")))?;
                matches.push(Match::Mark(Neg { negated: neg, value: m }));
                i += 2;
            }
            "--ctorigdst" => {
                let v = arg(i)?;
                let list = cidrs(v).ok_or_else(|| err(format!("bad address '{v}'")))?;
                matches.push(Match::CtOrigDst(Neg { negated: neg, value: list }));
                i += 2;
            }
            "--ctorigdstport" => {
                let v = arg(i)?;
                let r = port_ranges(v).ok_or_else(|| err(format!("bad port '{v}'")))?;
                matches.push(Match::CtOrigDstPort(Neg { negated: neg, value: r }));
                i += 2;
            }
            "--ctdir" => {
                let original = match arg(i)? {
                    "ORIGINAL" => true,
                    "REPLY" => false,
                    other => return Err(err(format!("bad --ctdir '{other}'"))),
                };
                matches.push(Match::CtDirOriginal(Neg { negated: neg, value: original }));
                i += 2;
            }
            "--ctstate" | "--state" => {
                let v = arg(i)?;
                let s = ct_states(v).ok_or_else(|| err(format!("bad conntrack state '{v}'")))?;
                matches.push(Match::CtState(Neg { negated: neg, value: s }));
                i += 2;
            }
            "--match-set" => {
                let name = arg(i)?.to_string();
                let dirs = w.get(i + 2).ok_or_else(|| err("--match-set needs a direction".into()))?;
                let n = Neg { negated: neg, value: name };
                matches.push(match dirs.as_ref() {
                    "src" => Match::SetSrc(n),
                    "dst" => Match::SetDst(n),
                    other => Match::Unknown(format!("-m set --match-set {} {other}", n.value)),
                });
                i += 3;
            }
            "--comment" => {
                comment = Some(arg(i)?.to_string());
                i += 2;
            }
            "--dst-type" | "--src-type" => {
                let n = Neg { negated: neg, value: arg(i)?.to_string() };
                matches.push(if opt == "--dst-type" { Match::DstAddrType(n) } else { Match::SrcAddrType(n) });
                i += 2;
            }
            "--tcp-flags" => {
                let mask = tcp_flag_bits(arg(i)?).ok_or_else(|| err("bad --tcp-flags mask".into()))?;
                let comp = tcp_flag_bits(w.get(i + 2).map(|s| s.as_ref()).unwrap_or(""))
                    .ok_or_else(|| err("bad --tcp-flags comparison".into()))?;
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
                if module == "statistic" {
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
                let opt_val = |name: &str| opts.iter().position(|o| *o == name).and_then(|p| opts.get(p + 1)).copied();
                action = if opt == "-g" {
                    Action::Goto(target)
                } else {
                    match target.as_str() {
                        "ACCEPT" => Action::Accept,
                        "DROP" => Action::Drop,
                        "RETURN" => Action::Return,
                        "REJECT" => {
                            Action::Reject(opt_val("--reject-with").unwrap_or("icmp-port-unreachable").to_string())
                        }
                        "MARK" => match mark_target(&opts) {
                            Some(m) => {
                                mark = Some(m);
                                Action::Continue
                            }
                            None => Action::Unknown(format!("-j MARK {}", opts.join(" "))),
                        },
                        // SECMARK/CONNSECMARK label packets for SELinux (judged by the SELinux
                        // layer); for netfilter they go on like LOG.
                        "LOG" | "NFLOG" | "ULOG" | "CONNMARK" | "SECMARK" | "CONNSECMARK" | "TRACE" | "AUDIT"
                        | "CLASSIFY" | "TCPMSS" | "DSCP" | "TOS" | "TTL" | "HL" | "CHECKSUM" => Action::Continue,
                        "NOTRACK" => Action::Notrack,
                        "CT" if opts.contains(&"--notrack") => Action::Notrack,
                        "CT" => Action::Continue,
                        "REDIRECT" => {
                            let port = opt_val("--to-ports")
                                .and_then(|p| p.split(['-', ':']).next())
                                .and_then(|p| p.parse().ok());
                            Action::Dnat { addr: None, port, redirect: true }
                        }
                        "DNAT" => {
                            let to = opt_val("--to-destination").unwrap_or("");
                            let (addr, port) = split_addr_port(to);
                            Action::Dnat { addr, port, redirect: false }
                        }
                        "SNAT" | "MASQUERADE" => Action::Continue,
                        t if t.chars().all(|c| c.is_ascii_uppercase()) && !opts.is_empty() => {
                            Action::Unknown(format!("-j {t} {}", opts.join(" ")))
                        }
                        t if t.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                            && matches!(t, "QUEUE" | "NFQUEUE" | "TPROXY" | "SET" | "HMARK") =>
                        {
                            Action::Unknown(format!("-j {t}"))
                        }
                        _ => Action::Jump(target),
                    }
                };
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
            other => return Err(err(format!("unexpected '{other}'"))),
        }
        neg = false;
    }
    Ok((chain, Rule { matches, action, text: text.to_string(), comment, mark }))
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

/// Parses one save output. `family` is `Ip` for iptables-save, `Ip6` for ip6tables-save.
pub fn parse_save(file: &str, text: &str, backend: Backend, family: FwFamily) -> Result<Vec<Table>, ParseError> {
    let mut tables: Vec<Table> = Vec::new();
    let mut open = false;
    // Chain name → position in the open table (kube-proxy saves hold tens of thousands).
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |m: &str| ParseError::new(file, format!("line {line_no}"), m.to_string());
        if let Some(name) = line.strip_prefix('*') {
            if open {
                return Err(err("a new table starts before COMMIT"));
            }
            tables.push(Table { backend, family, name: name.to_string(), chains: Vec::new() });
            index.clear();
            open = true;
            continue;
        }
        let table =
            tables.last_mut().filter(|_| open).ok_or_else(|| err("a rule or chain outside a table (*filter …)"))?;
        if line == "COMMIT" {
            open = false;
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts.next().ok_or_else(|| err("chain declaration without a name"))?.to_string();
            let policy = parts.next().unwrap_or("-");
            let base = builtin(&table.name, &name).map(|(hook, priority)| BaseInfo {
                hook,
                priority,
                kind: if table.name == "nat" { "nat".into() } else { "filter".into() },
                policy_accept: policy != "DROP",
            });
            if base.is_some() && !matches!(policy, "ACCEPT" | "DROP") {
                return Err(err(&format!("built-in chain {name} has policy '{policy}'")));
            }
            index.insert(name.clone(), table.chains.len());
            table.chains.push(Chain { name, rules: Vec::new(), base });
        } else if line.starts_with("-A ") {
            let w = words(file, line_no, line)?;
            let (chain, rule) = parse_rule(file, line_no, line, &w)?;
            let at = *index.get(&chain).ok_or_else(|| err(&format!("rule for undeclared chain {chain}")))?;
            table.chains[at].rules.push(rule);
        } else {
            return Err(err(&format!("unexpected line '{}'", line.chars().take(40).collect::<String>())));
        }
    }
    if open {
        return Err(ParseError::new(file, "end of file", "truncated: the last table has no COMMIT"));
    }
    // Jump targets must exist (a truncated or hand-edited save otherwise misleads the walk).
    for t in &tables {
        let names: std::collections::HashSet<&str> = t.chains.iter().map(|c| c.name.as_str()).collect();
        for c in &t.chains {
            for r in &c.rules {
                if let Action::Jump(target) | Action::Goto(target) = &r.action
                    && !names.contains(target.as_str())
                {
                    return Err(ParseError::new(
                        file,
                        format!("table {} chain {}", t.name, c.name),
                        format!("jump to unknown chain {target}"),
                    ));
                }
            }
        }
    }
    Ok(tables)
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
            matches!(&user.rules[3].matches[0], Match::Unknown(t) if t == "-m limit --limit 3/min --limit-burst 10")
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
    fn truncated_and_malformed_saves_name_the_line() {
        let cut = &UFW[..UFW.find("COMMIT").unwrap()];
        let e = parse_save("iptables-nft.txt", cut, Backend::IptablesNft, FwFamily::Ip).unwrap_err();
        assert_eq!(e.field, "end of file");
        let e = parse_save(
            "f",
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport x -j ACCEPT\nCOMMIT\n",
            Backend::IptablesNft,
            FwFamily::Ip,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "f: line 3: bad port list 'x'");
        let e = parse_save(
            "f",
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j nowhere\nCOMMIT\n",
            Backend::IptablesNft,
            FwFamily::Ip,
        )
        .unwrap_err();
        assert!(e.message.contains("unknown chain nowhere"));
        let e = parse_save("f", "-A INPUT -j ACCEPT\n", Backend::IptablesNft, FwFamily::Ip).unwrap_err();
        assert_eq!(e.field, "line 1");
        let e = parse_save(
            "f",
            "*filter\n:INPUT ACCEPT\n-A INPUT -m comment --comment \"open\n",
            Backend::IptablesNft,
            FwFamily::Ip,
        )
        .unwrap_err();
        assert!(e.message.contains("unterminated quote"));
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
