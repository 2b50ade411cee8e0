//! The kernel's own counters for what the drop tracepoint cannot see (FACTS.md "The kernel
//! witness"): a SYN to a full accept queue, or one whose SYN-ACK has no route back, is consumed,
//! not dropped, so no `kfree_skb` event names it; only these counters rise. They are read before
//! and after the witness runs, in the witness's network namespace. They count every flow of that
//! namespace, not only the probe's: evidence beside the drop events, never a drop event.

use std::collections::BTreeMap;

/// `(section, field)` of /proc/net/snmp and /proc/net/netstat, named as `nstat` names them.
const WATCHED: [(&str, &str); 3] = [("Ip", "OutNoRoutes"), ("TcpExt", "ListenOverflows"), ("TcpExt", "ListenDrops")];
const FILES: [&str; 2] = ["/proc/net/snmp", "/proc/net/netstat"];

/// The watched counters' values now (a file or counter the kernel lacks is left out).
pub fn read() -> BTreeMap<String, u64> {
    let mut now = BTreeMap::new();
    for f in FILES {
        if let Ok(text) = std::fs::read_to_string(f) {
            now.extend(parse(&text));
        }
    }
    now
}

/// The counters that rose from `before` to `after`, by how much.
pub fn rose(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(*before.get(k).unwrap_or(v));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The watched counters of one file: each section is a line of names followed by a line of
/// values, both starting with `Section:`.
fn parse(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((section, names)), Some((same, values))) = (names.split_once(':'), values.split_once(':')) else {
            continue;
        };
        if section != same {
            continue;
        }
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if WATCHED.contains(&(section, name))
                && let Ok(v) = value.parse::<u64>()
            {
                out.insert(format!("{section}{name}"), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parse, rose};

    #[test]
    fn watched_counters_are_read_and_compared() {
        let snmp = "Ip: Forwarding DefaultTTL InReceives OutNoRoutes\nIp: 1 64 100 3\nTcp: RtoAlgorithm ListenDrops\nTcp: 1 9\n";
        let netstat = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 4 5\n";
        let before: std::collections::BTreeMap<_, _> = parse(snmp).into_iter().chain(parse(netstat)).collect();
        assert_eq!(
            before.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            ["IpOutNoRoutes=3", "TcpExtListenDrops=5", "TcpExtListenOverflows=4"],
            "Tcp's own ListenDrops is not TcpExt's"
        );
        let mut after = before.clone();
        after.insert("IpOutNoRoutes".into(), 7);
        assert_eq!(rose(&before, &after).into_iter().collect::<Vec<_>>(), [("IpOutNoRoutes".to_string(), 4)]);
        assert!(parse("Ip: a b\nTcp: 1 2\n").is_empty(), "mismatched sections are skipped");
    }
}
