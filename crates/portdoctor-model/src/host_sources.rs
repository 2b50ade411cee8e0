//! The one list of a host's evidence sources, beside the evidence they fill (`HostEvidence`):
//! what each file holds, what to install when its tool is missing, the capabilities it needs,
//! and how it is collected. Local collection, the SSH script, the snapshot reader, the error
//! messages and docs/host-snapshot.md (written from `docs_table`) all read this table. Adding a
//! source is this file (its name, entry and typed slot in `HostEvidence`) and its parser
//! (`portdoctor_parse::host::parse_host` and the module that reads it); a source collected by its
//! own code (`How::Custom`) adds that code in the collector too.

use crate::host::{
    Conntrack, Counters, Interface, Netns, PolicyRule, Route, Selinux, Services, Socket, TcIngress, TcpWrappers, Xfrm,
};
use crate::knowledge::{EvidenceSource, Fact, Knowledge, Sourced};
use crate::net::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Capability numbers from linux/capability.h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    DacReadSearch = 2,
    NetAdmin = 12,
    NetRaw = 13,
    SysPtrace = 19,
    SysAdmin = 21,
}

impl Cap {
    pub fn name(self) -> &'static str {
        match self {
            Cap::DacReadSearch => "CAP_DAC_READ_SEARCH",
            Cap::NetAdmin => "CAP_NET_ADMIN",
            Cap::NetRaw => "CAP_NET_RAW",
            Cap::SysPtrace => "CAP_SYS_PTRACE",
            Cap::SysAdmin => "CAP_SYS_ADMIN",
        }
    }
}

/// The file names of a host snapshot (documented in docs/host-snapshot.md).
pub mod files {
    pub const MANIFEST: &str = "manifest.json";
    pub const HOSTNAME: &str = "hostname.txt";
    pub const SOCKETS: &str = "sockets.json";
    pub const IP_ADDR: &str = "ip-addr.json";
    pub const IP_ROUTE: &str = "ip-route.json";
    pub const IP6_ROUTE: &str = "ip-6-route.json";
    pub const IP_RULE: &str = "ip-rule.json";
    pub const IP6_RULE: &str = "ip-6-rule.json";
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

    /// How the docs name a namespace's file: `netns-N-ip-addr.json`.
    pub fn netns_file_pattern(base: &str) -> String {
        format!("netns-N-{base}")
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
    /// What the file holds, for docs/host-snapshot.md (generated from this table).
    pub holds: &'static str,
    /// How it is made, in the docs' words, where `how` does not say it (a custom collection).
    pub made_by: Option<&'static str>,
}

impl HostSource {
    const fn doc(self, holds: &'static str) -> HostSource {
        HostSource { holds, ..self }
    }

    const fn made_by(self, made_by: &'static str) -> HostSource {
        HostSource { made_by: Some(made_by), ..self }
    }

    /// How it is made, as the docs say it: the command, `cat` of the file, or `made_by`.
    pub fn made_by_text(&self) -> String {
        match (self.made_by, self.how) {
            (Some(text), _) => text.to_string(),
            (None, How::Command(argv)) => format!("`{}`", argv.join(" ")),
            (None, How::File(path)) => format!("`cat {path}`"),
            (None, How::Custom) => "portdoctor".to_string(),
        }
    }
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
    HostSource { file, family, what, install, needs, how, holds: "", made_by: None }
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
    )
    .doc(r#"interfaces and addresses"#),
    src(
        files::IP_ROUTE,
        F::Routing,
        ("routes", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-4", "route", "show", "table", "all"]),
    )
    .doc(r#"IPv4 routes of every table"#),
    src(
        files::IP6_ROUTE,
        F::Routing,
        ("routes", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-6", "route", "show", "table", "all"]),
    )
    .doc(r#"IPv6 routes of every table"#),
    src(
        files::IP_RULE,
        F::Routing,
        ("policy-routing rules", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-4", "rule", "show"]),
    )
    .doc(r#"IPv4 policy-routing rules"#),
    src(
        files::IP6_RULE,
        F::Routing,
        ("IPv6 policy-routing rules", IPROUTE2),
        &[],
        Command(&["ip", "-j", "-6", "rule", "show"]),
    )
    .doc(r#"IPv6 policy-routing rules (absent from snapshots taken before portdoctor read them: the kernel's default rules, local then main, are then assumed and said)"#),
    src(files::SS, F::Sockets, GENERIC, &[], Command(&["ss", "-H", "-tulpne"]))
    .doc(r#"for people: the kernel's own socket list"#),
    src(
        files::IPSET,
        F::Firewall,
        ("ipsets", "ipset (apt-get install ipset / dnf install ipset)"),
        NET_ADMIN,
        Command(&["ipset", "save"]),
    )
    .doc(r#"ipsets and their members"#),
    src(
        files::XFRM_POLICY,
        F::Datapath,
        ("xfrm (IPsec) policies", IPROUTE2),
        NET_ADMIN,
        Command(&["ip", "xfrm", "policy"]),
    )
    .doc(r#"xfrm (IPsec) policies (iproute2 has no JSON for them). `dir in` policies are judged for the client's packet, `dir out` for the reply, lowest priority number first: `action block` → `XFRM_POLICY_BLOCK` (confirmed); templates not marked `level use` (IPsec required) → `XFRM_POLICY_BLOCK` (likely); a policy that also selects by mark, interface, if_id or the client's port → `unknown`, naming it. Per-socket policies are noted, not judged"#),
    src(
        files::XFRM_DEFAULT,
        F::Datapath,
        ("xfrm default policies", "iproute2 6.0 or later, on Linux 5.16 or later"),
        NET_ADMIN,
        Command(&["ip", "xfrm", "policy", "getdefault"]),
    )
    .doc(r#"the default action per direction (Linux 5.16+, iproute2 6.0+); `block` catches what no policy selects. Unreadable: accept, the kernel's default, assumed and said"#),
    src(files::HOSTNAME, F::Identity, GENERIC, &[], File("/proc/sys/kernel/hostname"))
    .doc(r#"the host name"#),
    src(
        files::CONNTRACK_STAT,
        F::Counters,
        ("conntrack statistics", "the nf_conntrack module"),
        &[],
        File("/proc/net/stat/nf_conntrack"),
    )
    .doc(r#"per-CPU conntrack statistics (drop, early_drop, insert_failed …)"#),
    src(files::HOSTS_ALLOW, F::Wrappers, GENERIC, &[], File("/etc/hosts.allow"))
    .doc(r#"TCP wrappers' allow rules (an absent file is an empty one)"#),
    src(files::HOSTS_DENY, F::Wrappers, GENERIC, &[], File("/etc/hosts.deny"))
    .doc(r#"TCP wrappers' deny rules (an absent file is an empty one)"#),
    src(
        files::SOCKETS,
        F::Sockets,
        ("listening sockets", "a Linux kernel with sock_diag (CONFIG_INET_DIAG)"),
        &[],
        Custom,
    )
    .doc(r#"TCP listeners and all UDP sockets, IPv4 and IPv6, with IPV6_V6ONLY, SO_BINDTODEVICE (`bound_ifindex`), accept queue (`recv_q`) and backlog (`send_q`), uid, inode and owning processes (see below)"#)
    .made_by(r#"netlink sock_diag + `/proc/PID/fd`"#),
    src(files::NETSTAT, F::Counters, ("TCP counters", "a kernel with /proc/net/netstat"), &[], Custom)
    .doc(r#"TCP extended counters, sampled when collection starts"#)
    .made_by(r#"`cat /proc/net/netstat`"#),
    src(files::NETSTAT_LATER, F::Counters, ("TCP counters", "a kernel with /proc/net/netstat"), &[], Custom)
    .doc(r#"the same, sampled when collection ends (a counter that rose is happening now)"#)
    .made_by(r#"`cat /proc/net/netstat`"#),
    src(files::SYSCTL, F::Kernel, ("kernel settings", "procfs mounted at /proc"), &[], Custom)
    .doc(r#"`key = value` lines: ip_forward, bindv6only, somaxconn, syncookies, ip_local_port_range, nf_conntrack_count/max (absent when nf_conntrack is not loaded), rp_filter and forwarding of all/default/each interface"#)
    .made_by(r#"read from `/proc/sys`"#),
    src(files::IPTABLES_NFT, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom)
    .doc(r#"IPv4 iptables rules on the nf_tables backend; a table it marks incompatible (`# Table `filter' is incompatible…` / `…contains incompatible base-chains…`: a native nftables table by an iptables name) is read from `nft-ruleset.json` instead"#)
    .made_by(r#"`iptables-nft-save` (else `iptables-save` when `iptables --version` says `nf_tables`)"#),
    src(files::IP6TABLES_NFT, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom)
    .doc(r#"the same for IPv6 (ip6tables)"#)
    .made_by(r#"`ip6tables-nft-save`"#),
    src(files::IPTABLES_LEGACY, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom)
    .doc(r#"legacy IPv4 iptables rules, only when legacy tables are loaded (listing them would load them)"#)
    .made_by(r#"`iptables-legacy-save` (else `iptables-save` when it is the legacy backend: Amazon Linux 2, CentOS 7)"#),
    src(files::IP6TABLES_LEGACY, F::Firewall, ("iptables rules", IPTABLES), NET_ADMIN, Custom)
    .doc(r#"the same for IPv6 (ip6tables)"#)
    .made_by(r#"`ip6tables-legacy-save`"#),
    src(files::IP_TABLES_NAMES, F::Firewall, GENERIC, &[], Custom)
    .doc(r#"legacy IPv4 tables the kernel has loaded (read, not sized: proc files report size 0)"#)
    .made_by(r#"`cat /proc/net/ip_tables_names`"#),
    src(files::IP6_TABLES_NAMES, F::Firewall, GENERIC, &[], Custom)
    .doc(r#"the same for IPv6"#)
    .made_by(r#"`cat /proc/net/ip6_tables_names`"#),
    src(files::NFT_RULESET, F::Firewall, ("nftables rules", NFTABLES), NET_ADMIN, Custom)
    .doc(r#"the nftables tables, less those iptables-nft-save shows in full with more than 2,000 rules (read from its save output only), as one `{"nftables": [...]}` document. Each table is read by one tool: iptables-nft's save when it shows the table and every rule carries iptables-nft's counter; nft's listing when iptables marks the table incompatible or a rule was written with nft (iptables-nft-save silently drops what it cannot translate, e.g. `tcp dport { 80, 443 }`) and the listing has no iptables extensions (`xt`); else neither, and the firewall check is `unknown`, naming the table"#)
    .made_by(r#"`nft -j list tables`, then `nft -j list table FAMILY NAME` for each native table"#),
    src(files::NFT_CHAINS, F::Firewall, ("nftables chains", NFTABLES), NET_ADMIN, Custom)
    .doc(r#"every nftables chain header, for the devices of `ingress` chains (nftables before 1.0.7 leaves them out of its JSON). A netdev or inet ingress chain on the arrival interface is walked like any base chain, before PREROUTING and before conntrack; one whose device cannot be told (an older snapshot without this file) makes the firewall check `unknown`, naming it"#)
    .made_by(r#"`nft list chains`"#),
    src(
        files::TC_INGRESS,
        F::Datapath,
        ("tc ingress filters", "iproute2's tc (apt-get install iproute2 / dnf install iproute-tc)"),
        &[],
        Custom,
    )
    .doc(r#"tc ingress filters: `{"qdiscs": <tc -j qdisc show>, "filters": {"IF": <tc -j filter show dev IF ingress>}}` for each interface with an `ingress` or `clsact` qdisc. Filters on the arrival interface run before netfilter and are not evaluated: the `host.tc-ingress` check is then `unknown`, naming each filter (its BPF program's name and id) and `tc -s filter show dev IF ingress`"#)
    .made_by(r#"`tc -j qdisc show`, then `tc -j filter show dev IF ingress` for each"#),
    src(
        files::SELINUX_ENFORCE,
        F::Selinux,
        ("the SELinux mode", "a kernel with SELinux (/sys/fs/selinux)"),
        &[],
        Custom,
    )
    .doc(r#"SELinux's mode now (`1`/`0`); `tool-missing` when the kernel has no SELinux (then the next three are not taken)"#)
    .made_by(r#"`cat /sys/fs/selinux/enforce`"#),
    src(files::SELINUX_CONFIG, F::Selinux, GENERIC, &[], Custom)
    .doc(r#"the mode at next boot and the policy"#)
    .made_by(r#"`cat /etc/selinux/config`"#),
    src(
        files::SEMANAGE_PORTS,
        F::Selinux,
        ("SELinux port labels", "semanage (dnf install policycoreutils-python-utils)"),
        &[],
        Custom,
    )
    .doc(r#"the policy's port labels"#)
    .made_by(r#"`semanage port -l`"#),
    src(
        files::AUDIT_AVC,
        F::Selinux,
        ("SELinux denials (audit log)", "auditd, with /var/log/audit/audit.log readable (root)"),
        &[Cap::DacReadSearch],
        Custom,
    )
    .doc(r#"the last 1,000 AVC records of the audit log"#)
    .made_by(r#"`grep 'avc:' /var/log/audit/audit.log \| tail -n 1000`"#),
    src(files::SYSTEMD_SHOW, F::Services, ("systemd services", "systemd (systemctl)"), &[], Custom)
    .doc(r#"every service's state and command line (`Id=`, `ActiveState=`, `SubState=`, `Result=`, `NRestarts=`, `ExecStart=`); `tool-missing` when the host does not run systemd"#)
    .made_by(r#"`systemctl show --property=Id,ActiveState,SubState,Result,NRestarts,ExecStart '*.service'`"#),
    src(
        files::JOURNAL,
        F::Services,
        ("the journal", "systemd-journald, readable by this user (root or the systemd-journal group)"),
        &[],
        Custom,
    )
    .doc(r#"the journal's last 500 warnings and worse (bind errors, crashes, restarts)"#)
    .made_by(r#"`journalctl -p warning -n 500 --no-pager -o short-iso`"#),
    src(
        files::LIBWRAP_PIDS,
        F::Wrappers,
        ("which processes link libwrap", "procfs; root to read other users' /proc/PID/maps"),
        &[Cap::SysPtrace],
        Custom,
    )
    .doc(r#"the processes that link libwrap — only they read the two files"#)
    .made_by(r#"`grep -l libwrap /proc/[0-9]*/maps`"#),
    src(
        files::NETNS,
        F::Containers,
        ("container network namespaces", "root (to enter namespaces) and util-linux's nsenter"),
        &[Cap::SysAdmin, Cap::SysPtrace],
        Custom,
    )
    .doc(r#"the network namespaces joined to this one by a veth (containers, pods): `[{"nsid": N, "pid": P, "processes": [{"pid", "name"}]}]`, `nsid` being the id this namespace gives it (the `link_netnsid` of its veth ends); `permission-denied` when not root"#)
    .made_by(r#"`/proc/[0-9]*/ns/net` grouped by namespace, RTM_GETNSID for each (over SSH with plain tools: paired by the veth ends' `link_index`)"#),
];

/// Everything portdoctor knows about one host, live or from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEvidence {
    pub hostname: Option<String>,
    pub sockets: Fact<Vec<Socket>>,
    pub interfaces: Fact<Vec<Interface>>,
    /// IPv4 and IPv6 routes of every table, read from two sources: `from` names the IPv4 one,
    /// `routes6_from` the IPv6 one; evidence asks `routes_from(family)`.
    pub routes: Fact<Vec<Route>>,
    #[serde(default)]
    pub routes6_from: EvidenceSource,
    /// IPv4 policy-routing rules.
    pub rules: Fact<Vec<PolicyRule>>,
    /// IPv6 policy-routing rules.
    pub rules6: Fact<Vec<PolicyRule>>,
    /// Kernel settings read (`key = value`), e.g. rp_filter of every interface.
    pub sysctl: Fact<BTreeMap<String, String>>,
    /// Counters sampled when collection started, and again when it ended: a counter that rose
    /// between them is happening now, not since boot.
    pub netstat: Fact<Counters>,
    pub netstat_later: Fact<Counters>,
    /// Its size is read from the kernel settings (`from`), its drop counters from their own
    /// source (`Conntrack::Loaded::stats_from`).
    pub conntrack: Fact<Conntrack>,
    /// Every netfilter table of every backend, and the ipsets.
    pub netfilter: Knowledge<crate::firewall::Netfilter>,
    /// `Known(None)`: SELinux is not in this kernel (no /sys/fs/selinux). `from`: the mode's source.
    pub selinux: Fact<Option<Selinux>>,
    /// systemd's services and recent warnings; `Known(None)`: no systemd.
    pub services: Knowledge<Option<Services>>,
    pub tcp_wrappers: Knowledge<TcpWrappers>,
    /// The namespaces joined to this one by veth pairs (containers, pods).
    pub netns: Fact<Vec<Netns>>,
    /// tc ingress filters of every interface; `None` when the evidence predates reading them
    /// (an older snapshot): not collected, which is not a failure.
    #[serde(default)]
    pub tc_ingress: Sourced<Option<Knowledge<TcIngress>>>,
    /// xfrm (IPsec) policies; `None` when not collected.
    #[serde(default)]
    pub xfrm: Sourced<Option<Knowledge<Xfrm>>>,
    /// Odd or ignored input, carried to the report's `notes`.
    pub notes: Vec<String>,
}

impl HostEvidence {
    /// Where the routes of `family` were read.
    pub fn routes_from(&self, family: Family) -> &EvidenceSource {
        match family {
            Family::V4 => &self.routes.from,
            Family::V6 => &self.routes6_from,
        }
    }

    /// The policy rules of `family`.
    pub fn rules_of(&self, family: Family) -> &Fact<Vec<PolicyRule>> {
        match family {
            Family::V4 => &self.rules,
            Family::V6 => &self.rules6,
        }
    }

    /// Every address assigned to this namespace's interfaces (empty when they were not read).
    pub fn local_addrs(&self) -> Vec<IpAddr> {
        self.interfaces.known().into_iter().flatten().flat_map(|i| i.addrs.iter().map(|a| a.addr)).collect()
    }
}

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

/// The table of docs/host-snapshot.md, written from this registry: the manifest, every source,
/// then the files of each container namespace (named by namespace, so not sources here).
pub fn docs_table() -> String {
    let mut out = String::from("| file | what | produced by |\n|---|---|---|\n");
    let row = |file: &str, holds: &str, by: &str| format!("| `{file}` | {holds} | {by} |\n");
    out += &row(files::MANIFEST, MANIFEST_HOLDS, "portdoctor");
    for s in HOST_SOURCES {
        out += &row(s.file, s.holds, &s.made_by_text());
    }
    out += &row(
        &files::netns_file_pattern(files::IP_ADDR),
        "inside namespace N: its interfaces",
        "`nsenter -t P -n -- ip -j addr show`",
    );
    out += &row(
        &files::netns_file_pattern(files::SS),
        "inside namespace N: its sockets (with owners, read as root)",
        "`nsenter -t P -n -- ss -H -tulpne`",
    );
    out
}

const MANIFEST_HOLDS: &str = r#"`{"format": "portdoctor-host-snapshot", "version": 1, "created": "…Z", "sources": {FILE: {"command", "outcome", "exit", "stderr"}}}`; `outcome` is `ok`, `tool-missing`, `permission-denied`, `failed` or `timed-out` (the tool ran past the tool timeout and was stopped; `stderr` says after how long)"#;

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/host-snapshot.md");
    const BEGIN: &str = "<!-- sources: generated from crates/portdoctor-model/src/host_sources.rs -->\n";
    const END: &str = "<!-- sources: end -->\n";

    /// docs/host-snapshot.md's table of sources is this registry's (`docs_table`): a source is
    /// documented where it is registered. `PORTDOCTOR_BLESS=1 cargo test -p portdoctor-model`
    /// rewrites the table after a change here.
    #[test]
    fn the_docs_table_is_the_registry() {
        let docs = std::fs::read_to_string(DOCS).expect("docs/host-snapshot.md");
        let (before, rest) = docs.split_once(BEGIN).expect("the docs' begin marker");
        let (table, after) = rest.split_once(END).expect("the docs' end marker");
        let want = docs_table();
        if table == want {
            return;
        }
        if std::env::var_os("PORTDOCTOR_BLESS").is_some() {
            std::fs::write(DOCS, format!("{before}{BEGIN}{want}{END}{after}")).expect("write the docs");
            return;
        }
        panic!(
            "docs/host-snapshot.md's table of sources differs from the registry: run PORTDOCTOR_BLESS=1 cargo test -p portdoctor-model"
        );
    }

    #[test]
    fn every_source_is_described() {
        for s in HOST_SOURCES {
            assert!(!s.holds.is_empty(), "{} has no description for the docs", s.file);
        }
    }

    #[test]
    fn each_file_once() {
        for (i, s) in HOST_SOURCES.iter().enumerate() {
            assert!(!HOST_SOURCES[..i].iter().any(|o| o.file == s.file), "{} twice", s.file);
        }
    }
}
