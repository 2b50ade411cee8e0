//! `/proc/net/netstat` (and `/proc/net/snmp`), `sysctl` output, `/proc/net/stat/nf_conntrack`.

use crate::ParseError;
use portdoctor_model::host::Counters;
use std::collections::BTreeMap;

/// `/proc/net/netstat`: lines come in pairs, `Section: Name Name…` then `Section: n n…`.
pub fn parse_counters(file: &str, text: &str) -> Result<Counters, ParseError> {
    let mut out: Counters = BTreeMap::new();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for (pair, chunk) in lines.chunks(2).enumerate() {
        let line_no = pair * 2 + 1;
        let [names, values] = chunk else {
            return Err(ParseError::new(file, format!("line {line_no}"), "a header line without its values line"));
        };
        let (section, names) = names
            .split_once(':')
            .ok_or_else(|| ParseError::new(file, format!("line {line_no}"), "expected 'Section: names'"))?;
        let (vsection, values) = values
            .split_once(':')
            .ok_or_else(|| ParseError::new(file, format!("line {}", line_no + 1), "expected 'Section: values'"))?;
        if section != vsection {
            return Err(ParseError::new(
                file,
                format!("line {}", line_no + 1),
                format!("section '{vsection}' does not match header '{section}'"),
            ));
        }
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Vec<&str> = values.split_whitespace().collect();
        if names.len() != values.len() {
            return Err(ParseError::new(
                file,
                format!("line {}", line_no + 1),
                format!("{} names but {} values", names.len(), values.len()),
            ));
        }
        let map = out.entry(section.to_string()).or_default();
        for (name, value) in names.iter().zip(values) {
            // Some counters (e.g. Tcp MaxConn) are -1 by design: keep them out rather than fail.
            if let Ok(v) = value.parse::<u64>() {
                map.insert((*name).to_string(), v);
            } else if value.parse::<i64>().is_err() {
                return Err(ParseError::new(file, format!("{section}.{name}"), format!("'{value}' is not a number")));
            }
        }
    }
    Ok(out)
}

/// `sysctl` output: `key = value` lines (what `sysctl net.x net.y` prints). The settings the
/// analysis judges by are checked here, once: a value the kernel could not have written
/// (`rp_filter = abc`) is an error naming the key, never read as 0.
pub fn parse_sysctl(file: &str, text: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| ParseError::new(file, format!("line {}", i + 1), "expected 'key = value'"))?;
        let (k, v) = (k.trim(), v.trim());
        check_sysctl(k, v).map_err(|why| ParseError::new(file, k, format!("{} {why}", crate::excerpt(v))))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// What a judged setting must look like (ip-sysctl.rst); other keys are kept as they are.
fn check_sysctl(key: &str, value: &str) -> Result<(), &'static str> {
    let int = |v: &str| v.parse::<i64>().is_ok();
    let last = key.rsplit('.').next().unwrap_or(key);
    match last {
        "rp_filter" if !matches!(value, "0" | "1" | "2") => Err("is not a reverse-path mode (0, 1 or 2)"),
        "ip_local_port_range" => {
            let v: Vec<&str> = value.split_whitespace().collect();
            match v.as_slice() {
                [lo, hi] if int(lo) && int(hi) => Ok(()),
                _ => Err("is not two port numbers"),
            }
        }
        "forwarding" | "ip_forward" | "bindv6only" | "somaxconn" | "tcp_syncookies" | "nf_conntrack_count"
        | "nf_conntrack_max"
            if !int(value) =>
        {
            Err("is not a number")
        }
        _ => Ok(()),
    }
}

/// Per-CPU rows of `/proc/net/stat/nf_conntrack`, summed by column name. Values are hex; the
/// header names the columns (their set differs between kernels, so never index by position).
pub fn parse_conntrack_stat(file: &str, text: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| ParseError::new(file, "line 1", "empty: expected a header of column names"))?
        .split_whitespace()
        .collect();
    let mut sums: BTreeMap<String, u64> = header.iter().map(|h| ((*h).to_string(), 0)).collect();
    for (i, line) in lines.enumerate() {
        let values: Vec<&str> = line.split_whitespace().collect();
        if values.len() != header.len() {
            return Err(ParseError::new(
                file,
                format!("line {}", i + 2),
                format!("{} values for {} columns", values.len(), header.len()),
            ));
        }
        for (name, v) in header.iter().zip(values) {
            let n = u64::from_str_radix(v, 16).map_err(|_| {
                ParseError::new(file, format!("line {} column {name}", i + 2), format!("'{v}' is not hex"))
            })?;
            if let Some(sum) = sums.get_mut(*name) {
                *sum = sum.saturating_add(n);
            }
        }
    }
    // `entries` is a global gauge repeated on every row, not a per-CPU counter.
    sums.remove("entries");
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_pair_up() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 7 9\nIpExt: InNoRoutes\nIpExt: 3\n";
        let c = parse_counters("netstat", text).unwrap();
        assert_eq!(c["TcpExt"]["ListenOverflows"], 7);
        assert_eq!(c["IpExt"]["InNoRoutes"], 3);
    }

    #[test]
    fn counters_reject_truncation() {
        let e = parse_counters("proc-net-netstat.txt", "TcpExt: A B\nTcpExt: 1\n").unwrap_err();
        assert_eq!(e.to_string(), "proc-net-netstat.txt: line 2: 2 names but 1 values");
        let e = parse_counters("proc-net-netstat.txt", "TcpExt: A B\n").unwrap_err();
        assert!(e.to_string().contains("line 1"));
    }

    #[test]
    fn negative_counters_are_tolerated() {
        let c = parse_counters("snmp", "Tcp: RtoAlgorithm MaxConn\nTcp: 1 -1\n").unwrap();
        assert_eq!(c["Tcp"].get("MaxConn"), None);
    }

    #[test]
    fn conntrack_stat_sums_cpus() {
        let text = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n\
            00000005  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 0000000a 00000002 00000000  00000000 00000000 00000000 00000000\n\
            00000005  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000010 00000000 00000000  00000000 00000000 00000000 00000000\n";
        let s = parse_conntrack_stat("stat", text).unwrap();
        assert_eq!(s["drop"], 26);
        assert_eq!(s["early_drop"], 2);
        assert_eq!(s["insert_failed"], 1);
        assert!(!s.contains_key("entries"));
    }

    #[test]
    fn sysctl_lines() {
        let s = parse_sysctl("sysctl.txt", "net.ipv4.ip_forward = 1\nnet.ipv4.ip_local_port_range = 32768\t60999\n")
            .unwrap();
        assert_eq!(s["net.ipv4.ip_forward"], "1");
        assert_eq!(s["net.ipv4.ip_local_port_range"], "32768\t60999");
        assert!(parse_sysctl("sysctl.txt", "garbage\n").is_err());
        for bad in [
            "net.ipv4.conf.eth0.rp_filter = abc",
            "net.ipv4.conf.all.rp_filter = 7",
            "net.ipv4.ip_forward = yes",
            "net.ipv4.conf.eth0.forwarding =",
            "net.ipv4.ip_local_port_range = 32768",
            "net.netfilter.nf_conntrack_max = lots",
        ] {
            let e = parse_sysctl("sysctl.txt", bad).unwrap_err();
            assert_eq!(e.field, bad.split(" =").next().unwrap(), "{bad}: {e}");
        }
    }
}
