//! The one list of a host's evidence sources: what each file holds, what to install when its
//! tool is missing, the capabilities it needs, and how it is collected. Local collection, the
//! SSH script, the snapshot reader, the error messages and the docs test all read this table,
//! so a source is added here (and to the parser that reads it), nowhere else.

use crate::privilege::Cap;

/// The file names of a host snapshot (documented in docs/host-snapshot.md).
pub mod files {
    pub const MANIFEST: &str = "manifest.json";
    pub const HOSTNAME: &str = "hostname.txt";
    pub const SOCKETS: &str = "sockets.json";
    pub const IP_ADDR: &str = "ip-addr.json";
    pub const IP_ROUTE: &str = "ip-route.json";
    pub const IP6_ROUTE: &str = "ip-6-route.json";
    pub const IP_RULE: &str = "ip-rule.json";
    pub const NETSTAT: &str = "proc-net-netstat.txt";
    pub const NETSTAT_LATER: &str = "proc-net-netstat.later.txt";
    pub const SYSCTL: &str = "sysctl.txt";
    pub const CONNTRACK_STAT: &str = "proc-net-stat-nf_conntrack.txt";
    /// `ss -tulpne`, for people reading the snapshot; the analysis reads `sockets.json`.
    pub const SS: &str = "ss.txt";
    pub const IPTABLES_NFT: &str = "iptables-nft.txt";
    pub const IP6TABLES_NFT: &str = "ip6tables-nft.txt";
    pub const IPTABLES_LEGACY: &str = "iptables-legacy.txt";
    pub const IP6TABLES_LEGACY: &str = "ip6tables-legacy.txt";
    /// /proc/net/ip_tables_names: legacy tables are loaded when it is not empty.
    pub const IP_TABLES_NAMES: &str = "proc-net-ip_tables_names.txt";
    pub const IP6_TABLES_NAMES: &str = "proc-net-ip6_tables_names.txt";
    pub const NFT_RULESET: &str = "nft-ruleset.json";
    /// `nft list chains` (text): the devices of ingress chains, which nft's JSON leaves out
    /// before nftables 1.0.7.
    pub const NFT_CHAINS: &str = "nft-chains.txt";
    pub const IPSET: &str = "ipset.txt";
    /// SELinux: the mode now (absent when the kernel has no SELinux), at boot, the port
    /// labels, and the AVC denials from the audit log.
    pub const SELINUX_ENFORCE: &str = "selinux-enforce.txt";
    pub const SELINUX_CONFIG: &str = "selinux-config.txt";
    pub const SEMANAGE_PORTS: &str = "semanage-port.txt";
    pub const AUDIT_AVC: &str = "audit-avc.txt";
    /// systemd: every service's state and command, and the recent warnings of the journal.
    pub const SYSTEMD_SHOW: &str = "systemd-show.txt";
    pub const JOURNAL: &str = "journal-warnings.txt";
    /// TCP wrappers: the two files, and the processes that link libwrap.
    pub const HOSTS_ALLOW: &str = "hosts.allow";
    pub const HOSTS_DENY: &str = "hosts.deny";
    pub const LIBWRAP_PIDS: &str = "libwrap-pids.txt";
    /// The namespaces joined to this one by veth pairs (containers, pods): `[{nsid, pid,
    /// processes}]`, and for each `netns-NSID-ip-addr.json` and `netns-NSID-ss.txt`.
    pub const NETNS: &str = "netns.json";
    /// What drops packets outside netfilter: the tc ingress filters of every interface with an
    /// ingress or clsact qdisc (`{"qdiscs": …, "filters": {"IF": …}}`), the xfrm (IPsec)
    /// policies and their defaults. Absent from older snapshots: then "not collected".
    pub const TC_INGRESS: &str = "tc-ingress.json";
    pub const XFRM_POLICY: &str = "ip-xfrm-policy.txt";
    pub const XFRM_DEFAULT: &str = "ip-xfrm-policy-default.txt";

    /// A file of namespace `nsid`: `netns_file(3, IP_ADDR)` is `netns-3-ip-addr.json`.
    pub fn netns_file(nsid: i32, base: &str) -> String {
        format!("netns-{nsid}-{base}")
    }
}

/// What part of the host a source tells about (the docs group them this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFamily {
    Identity,
    Sockets,
    Routing,
    Counters,
    Kernel,
    Firewall,
    Datapath,
    Selinux,
    Services,
    Wrappers,
    Containers,
}

/// How a source is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// One fixed command (no shell), run the same way here and over SSH.
    Command(&'static [&'static str]),
    /// One file of the host, read the same way here and over SSH (an absent file says the host
    /// does not have the thing).
    File(&'static str),
    /// Collected by its own code (netlink, a walk of /proc, a command that depends on another
    /// source); the SSH script has its shell form.
    Custom,
}

/// One source of a host snapshot.
#[derive(Debug, Clone, Copy)]
pub struct HostSource {
    /// Its file name in a snapshot, and its key in the evidence.
    pub file: &'static str,
    pub family: SourceFamily,
    /// What it is, for a person ("iptables rules").
    pub what: &'static str,
    /// What to install when its tool is missing.
    pub install: &'static str,
    /// The capabilities it needs beyond an ordinary user's (capabilities(7)), so a permission
    /// failure names them: netfilter is listed over netlink with CAP_NET_ADMIN; entering
    /// another network namespace takes CAP_SYS_ADMIN (setns) and CAP_SYS_PTRACE (its
    /// /proc/PID/ns); other processes' maps take CAP_SYS_PTRACE; the audit log is root's file.
    pub needs: &'static [Cap],
    pub how: How,
}

/// Said of a source that names no tool of its own.
pub const GENERIC: (&str, &str) = ("evidence", "the tool that produces it");
const IPROUTE2: &str = "iproute2 (apt-get install iproute2 / dnf install iproute)";
const IPTABLES: &str = "iptables (apt-get install iptables / dnf install iptables-nft)";
const NFTABLES: &str = "nftables (apt-get install nftables / dnf install nftables)";
const NET_ADMIN: &[Cap] = &[Cap::NetAdmin];

const fn src(
    file: &'static str,
    family: SourceFamily,
    (what, install): (&'static str, &'static str),
    needs: &'static [Cap],
    how: How,
) -> HostSource {
    HostSource { file, family, what, install, needs, how }
}

use How::{Command, Custom, File};
use SourceFamily as F;

/// Every source, in collection order.
pub const HOST_SOURCES: &[HostSource] = &[
    src(
        files::IP_ADDR,
        F::Routing,
        ("interfaces and addresses", IPROUTE2),
        &[],
        Command(&["ip", "-j", "addr", "show"]),
    ),
    src(
        files::IP_ROUTE,
        F::Routing,
        ("routes", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-4", "route", "show", "table", "all"]),
    ),
    src(
        files::IP6_ROUTE,
        F::Routing,
        ("routes", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-6", "route", "show", "table", "all"]),
    ),
    src(
        files::IP_RULE,
        F::Routing,
        ("policy-routing rules", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-4", "rule", "show"]),
    ),
    src(files::SS, F::Sockets, GENERIC, &[], Command(&["ss", "-H", "-tulpne"])),
    src(
        files::IPSET,
        F::Firewall,
        ("ipsets", "ipset (apt-get install ipset / dnf install ipset)"),
        NET_ADMIN,
        Command(&["ipset", "save"]),
    ),
    src(
        files::XFRM_POLICY,
        F::Datapath,
        ("xfrm (IPsec) policies", IPROUTE2),
        NET_ADMIN,
        Command(&["ip", "xfrm", "policy"]),
    ),
    src(
        files::XFRM_DEFAULT,
        F::Datapath,
        ("xfrm default policies", "iproute2 6.0 or later, on Linux 5.16 or later"),
        NET_ADMIN,
        Command(&["ip", "xfrm", "policy", "getdefault"]),
    ),
    src(files::HOSTNAME, F::Identity, GENERIC, &[], File("/proc/sys/kernel/hostname")),
    src(
        files::CONNTRACK_STAT,
        F::Counters,
        ("conntrack statistics", "the nf_conntrack module"),
        &[],
        File("/proc/net/stat/nf_conntrack"),
    ),
    src(files::HOSTS_ALLOW, F::Wrappers, GENERIC, &[], File("/etc/hosts.allow")),
    src(files::HOSTS_DENY, F::Wrappers, GENERIC, &[], File("/etc/hosts.deny")),
    src(
        files::SOCKETS,
        F::Sockets,
        ("listening sockets", "a Linux kernel with sock_diag (CONFIG_INET_DIAG)"),
        &[],
        Custom,
    ),
    src(files::NETSTAT, F::Counters, ("TCP counters", "a kernel with /proc/net/netstat"), &[], Custom),
    src(files::NETSTAT_LATER, F::Counters, ("TCP counters", "a kernel with /proc/net/netstat"), &[], Custom),
    src(files::SYSCTL, F::Kernel, ("kernel settings", "procfs mounted at /proc"), &[], Custom),
    src(files::IPTABLES_NFT, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom),
    src(files::IP6TABLES_NFT, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom),
    src(files::IPTABLES_LEGACY, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom),
    src(files::IP6TABLES_LEGACY, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom),
    src(files::IP_TABLES_NAMES, F::Firewall, GENERIC, &[], Custom),
    src(files::IP6_TABLES_NAMES, F::Firewall, GENERIC, &[], Custom),
    src(files::NFT_RULESET, F::Firewall, ("nftables rules", NFTABLES), NET_ADMIN, Custom),
    src(files::NFT_CHAINS, F::Firewall, ("nftables chains", NFTABLES), NET_ADMIN, Custom),
    src(
        files::TC_INGRESS,
        F::Datapath,
        ("tc ingress filters", "iproute2's tc (apt-get install iproute2 / dnf install iproute-tc)"),
        &[],
        Custom,
    ),
    src(
        files::SELINUX_ENFORCE,
        F::Selinux,
        ("the SELinux mode", "a kernel with SELinux (/sys/fs/selinux)"),
        &[],
        Custom,
    ),
    src(files::SELINUX_CONFIG, F::Selinux, GENERIC, &[], Custom),
    src(
        files::SEMANAGE_PORTS,
        F::Selinux,
        ("SELinux port labels", "semanage (dnf install policycoreutils-python-utils)"),
        &[],
        Custom,
    ),
    src(
        files::AUDIT_AVC,
        F::Selinux,
        ("SELinux denials (audit log)", "auditd, with /var/log/audit/audit.log readable (root)"),
        &[Cap::DacReadSearch],
        Custom,
    ),
    src(files::SYSTEMD_SHOW, F::Services, ("systemd services", "systemd (systemctl)"), &[], Custom),
    src(
        files::JOURNAL,
        F::Services,
        ("the journal", "systemd-journald, readable by this user (root or the systemd-journal group)"),
        &[],
        Custom,
    ),
    src(
        files::LIBWRAP_PIDS,
        F::Wrappers,
        ("which processes link libwrap", "procfs; root to read other users' /proc/PID/maps"),
        &[Cap::SysPtrace],
        Custom,
    ),
    src(
        files::NETNS,
        F::Containers,
        ("container network namespaces", "root (to enter namespaces) and util-linux's nsenter"),
        &[Cap::SysAdmin, Cap::SysPtrace],
        Custom,
    ),
];

/// The registry's entry for a snapshot file name.
pub fn host_source(file: &str) -> Option<&'static HostSource> {
    HOST_SOURCES.iter().find(|s| s.file == file)
}

/// The sources that are one fixed command: (file, argv).
pub fn commands() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    HOST_SOURCES.iter().filter_map(|s| match s.how {
        Command(argv) => Some((s.file, argv)),
        _ => None,
    })
}

/// The sources that are one file of the host: (file, path).
pub fn host_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    HOST_SOURCES.iter().filter_map(|s| match s.how {
        File(path) => Some((s.file, path)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/host-snapshot.md is the format's documentation: every source must be in it.
    #[test]
    fn the_docs_list_every_source() {
        let docs = include_str!("../../../docs/host-snapshot.md");
        let missing: Vec<&str> =
            HOST_SOURCES.iter().map(|s| s.file).filter(|f| !docs.contains(&format!("`{f}`"))).collect();
        assert!(missing.is_empty(), "docs/host-snapshot.md does not list {missing:?}");
    }

    #[test]
    fn each_file_once() {
        for (i, s) in HOST_SOURCES.iter().enumerate() {
            assert!(!HOST_SOURCES[..i].iter().any(|o| o.file == s.file), "{} twice", s.file);
        }
    }
}
