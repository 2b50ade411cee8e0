//! hosts_access(5): `/etc/hosts.allow` and `/etc/hosts.deny` lines (`daemon_list : client_list
//! [: shell_command]`, `#` comments, `\` continuations, `EXCEPT`), and the list of processes
//! that link libwrap (`grep -l libwrap /proc/*/maps`).

use portdoctor_model::host::{WrapClient, WrapRule};
use portdoctor_model::net::Cidr;
use std::net::IpAddr;

/// A client pattern as addresses, where it is written as addresses: `ALL`, `[v6]/len`, a
/// `198.51.100.` prefix, `addr/mask` (a netmask or a length), or one address.
pub fn client(p: &str) -> WrapClient {
    if p == "ALL" {
        return WrapClient::All;
    }
    net(p).map_or_else(|| WrapClient::Named(p.to_string()), WrapClient::Net)
}

fn net(p: &str) -> Option<Cidr> {
    if let Some(inner) = p.strip_prefix('[') {
        let (addr, len) =
            inner.split_once(']').map(|(a, rest)| (a, rest.trim_start_matches('/'))).unwrap_or((inner, ""));
        return if len.is_empty() {
            Some(Cidr::host(addr.parse::<IpAddr>().ok()?))
        } else {
            format!("{addr}/{len}").parse().ok()
        };
    }
    if let Some(prefix) = p.strip_suffix('.')
        && prefix.split('.').all(|o| o.parse::<u8>().is_ok())
    {
        let octets: Vec<&str> = prefix.split('.').collect();
        let mut full = octets.clone();
        full.resize(4, "0");
        return format!("{}/{}", full.join("."), octets.len() * 8).parse().ok();
    }
    if let Some((addr, mask)) = p.split_once('/') {
        let len = match mask.parse::<std::net::Ipv4Addr>() {
            Ok(m) => {
                let bits = u32::from(m);
                (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(bits.leading_ones())?
            }
            Err(_) => mask.parse().ok()?,
        };
        return format!("{addr}/{len}").parse().ok();
    }
    p.parse::<IpAddr>().ok().map(Cidr::host)
}

fn words(list: &str) -> (Vec<String>, Vec<String>) {
    let mut main = Vec::new();
    let mut except = Vec::new();
    let mut in_except = false;
    for w in list.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
        if w == "EXCEPT" {
            in_except = true;
        } else if in_except {
            except.push(w.to_string());
        } else {
            main.push(w.to_string());
        }
    }
    (main, except)
}

/// The `:`-separated fields of a rule; a colon inside `[…]` (an IPv6 address) is not one.
fn fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in line.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 && out.len() < 2 => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

pub fn parse_hosts_access(file: &str, text: &str, notes: &mut Vec<String>) -> Vec<WrapRule> {
    let mut out = Vec::new();
    let mut joined = String::new();
    let mut start = 0;
    for (n, raw) in text.lines().enumerate() {
        if joined.is_empty() {
            start = n + 1;
        }
        if let Some(cont) = raw.strip_suffix('\\') {
            joined.push_str(cont);
            joined.push(' ');
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let line = line.split('#').next().unwrap_or("").trim().to_string();
        if line.is_empty() {
            continue;
        }
        let parts = fields(&line);
        let (Some(d), Some(c)) = (parts.first(), parts.get(1)) else {
            notes.push(format!("{file}: line {start}: not a 'daemons : clients' rule: {line}"));
            continue;
        };
        let (daemons, daemons_except) = words(d);
        let (clients, clients_except) = words(c);
        out.push(WrapRule {
            daemons,
            daemons_except,
            clients: clients.iter().map(|p| client(p)).collect(),
            clients_except: clients_except.iter().map(|p| client(p)).collect(),
            at: format!("{file}:{start}"),
            text: line,
        });
    }
    out
}

/// PIDs from `/proc/PID/maps` paths or bare numbers, one per line.
pub fn parse_pids(text: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|l| l.trim().trim_start_matches("/proc/").split('/').next().and_then(|p| p.parse().ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_with_except_and_continuations() {
        let mut notes = vec![];
        let r = parse_hosts_access(
            "hosts.allow",
            "# comment\nsshd, in.telnetd : 198.51.100. 10.0.0.0/255.0.0.0 EXCEPT 10.9.9.9\nALL EXCEPT vsftpd : \\\n  [2001:db8::]/32 : spawn /bin/echo\nbroken\n",
            &mut notes,
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].daemons, ["sshd", "in.telnetd"]);
        assert_eq!(r[0].clients_except, [client("10.9.9.9")]);
        assert_eq!(r[0].clients[1], WrapClient::Net("10.0.0.0/8".parse().unwrap()));
        assert_eq!(r[1].daemons_except, ["vsftpd"]);
        assert_eq!(r[1].clients, [WrapClient::Net("2001:db8::/32".parse().unwrap())]);
        assert_eq!(client("LOCAL"), WrapClient::Named("LOCAL".into()));
        assert_eq!(client("198.51.100."), WrapClient::Net("198.51.100.0/24".parse().unwrap()));
        assert_eq!(r[1].at, "hosts.allow:3");
        assert_eq!(notes.len(), 1);
        assert_eq!(parse_pids("/proc/812/maps\n/proc/self/maps\n901\n"), [812, 901]);
    }
}
