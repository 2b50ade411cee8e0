//! Comparing portdoctor with the kernel: what a verdict must say for each thing a real connect
//! saw, and the snapshot-then-judge round both the random differential test and the real-world
//! corpus run.

use crate::{INSTANCE_V6, Testbed, Wire};
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Does portdoctor's verdict say what the kernel did?
pub fn agrees(wire: &Wire, r: &Value) -> bool {
    let status = r["verdict"]["status"].as_str().unwrap_or("");
    let first = r["verdict"]["causes"][0]["code"].as_str().unwrap_or("");
    match wire {
        Wire::Open => status == "reachable",
        Wire::Refused => status == "blocked" && matches!(first, "HOST_FIREWALL_REJECT" | "NOT_LISTENING"),
        Wire::Timeout => {
            status == "blocked"
                && matches!(first, "HOST_FIREWALL_DROP" | "HOST_FIREWALL_OUTPUT_DROP" | "IP_FORWARDING_DISABLED")
        }
        // EHOSTUNREACH (113; EACCES, 13, over IPv6): an ICMP host- or admin-prohibited reject
        // (firewalld's), or the router gave up resolving the host (ICMPv6 address unreachable)
        // because the firewall broke neighbor discovery.
        Wire::Error(e) if e.contains("113") || e.contains("error:13") => {
            let message = r["verdict"]["causes"][0]["message"].as_str().unwrap_or("");
            let summary = r["verdict"]["summary"].as_str().unwrap_or("");
            status == "blocked"
                && (first == "HOST_FIREWALL_DROP" && message.contains("neighbor discovery")
                    || first == "HOST_FIREWALL_REJECT" && summary.contains("prohibited"))
        }
        Wire::Error(_) => false,
    }
}

impl Testbed {
    /// Turns off the kernel's per-peer ICMP error rate limit in the instance: many rejects to the
    /// same few clients would otherwise turn some into silence.
    pub fn no_icmp_ratelimit(&self) -> io::Result<()> {
        for setting in ["net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv6.icmp.ratelimit=0"] {
            self.instance_sysctl(setting)?;
        }
        Ok(())
    }

    /// Gives the client another source address on its link (198.51.100.0/24 or
    /// 2001:db8:1::/64), unless it has it already.
    pub fn add_client_source(&self, addr: &str) -> io::Result<()> {
        let (cidr, in_range) = if addr.contains(':') {
            (format!("{addr}/64"), addr.starts_with("2001:db8:1::"))
        } else {
            (format!("{addr}/24"), addr.starts_with("198.51.100."))
        };
        if !in_range {
            return Err(io::Error::other(format!("client address {addr} is outside the client's documentation link")));
        }
        let have = self.exec(&self.client, &["ip", "-o", "addr", "show", "dev", "eth0"])?;
        if String::from_utf8_lossy(&have.stdout).contains(&format!(" {cidr} ")) {
            return Ok(());
        }
        let mut args = vec!["ip", "addr", "add", cidr.as_str(), "dev", "eth0"];
        if addr.contains(':') {
            args.push("nodad");
        }
        let out = self.exec(&self.client, &args)?;
        if !out.status.success() {
            return Err(io::Error::other(format!("{args:?}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(())
    }

    /// Writes a host snapshot of the instance with the real binary (`portdoctor snapshot host`)
    /// to a fresh folder named after the instance and `tag`; returns the folder.
    pub fn snapshot(&self, bin: &Path, tag: &str) -> io::Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("{}-{tag}", self.instance));
        let _ = std::fs::remove_dir_all(&dir);
        let dir_arg = dir.display().to_string();
        let out = self.run_in_instance(bin, &["snapshot", "host", "--out", &dir_arg])?;
        if !out.status.success() {
            return Err(io::Error::other(format!("snapshot host: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(dir)
    }
}

/// portdoctor's report (`host --json --snapshot DIR`) on a flow from `client` to `port`, over
/// IPv6 to the instance's address when the client's address is IPv6. `Value::Null` when the
/// output is not JSON.
pub fn judge(bin: &Path, snapshot: &Path, client: &str, port: u16, proto: &str) -> io::Result<Value> {
    let port_arg = port.to_string();
    let snap = snapshot.display().to_string();
    let mut args = vec!["host", "--json", "--snapshot", &snap, "--port", &port_arg, "--from", client, "--proto", proto];
    if client.contains(':') {
        args.extend(["--to", INSTANCE_V6]);
    }
    let out = Command::new(bin).args(&args).output()?;
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

impl Testbed {
    /// Loads one ruleset file into the instance the way its tool would: `iptables` and
    /// `ip6tables` (the nf_tables backend), `iptables-legacy` and `ip6tables-legacy` (x_tables),
    /// `iptables-noflush` (`iptables-restore --noflush`), `nft` (`nft -f`), `ipset` (`ipset restore`).
    pub fn load_ruleset(&self, kind: &str, text: &str) -> io::Result<()> {
        let argv: &[&str] = match kind {
            "iptables" => &["iptables-restore"],
            // Only the chains the file declares are replaced (kube-proxy's way).
            "iptables-noflush" => &["iptables-restore", "--noflush"],
            "ip6tables" => &["ip6tables-restore"],
            "iptables-legacy" => &["iptables-legacy-restore"],
            "ip6tables-legacy" => &["ip6tables-legacy-restore"],
            "nft" => &["nft", "-f", "-"],
            "ipset" => &["ipset", "restore", "-exist"],
            other => return Err(io::Error::other(format!("unknown ruleset kind {other:?}"))),
        };
        self.feed(&self.instance, argv, text)
    }
}
