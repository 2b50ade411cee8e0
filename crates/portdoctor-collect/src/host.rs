//! Live collection of a host's evidence, into the same `RawHost` a snapshot folder holds.

use crate::{procs, sockdiag};
use portdoctor_model::host::{Process, Socket, SocketState};
use portdoctor_model::knowledge::{Knowledge, Missing};
use portdoctor_model::net::Proto;
use portdoctor_parse::host::{NetnsEntry, Outcome, RawHost, RawSource, files};
use portdoctor_parse::host_sources::{commands, host_files};
use portdoctor_parse::privilege::Privilege;
use portdoctor_parse::sockdiag::{DiagRecord, IPPROTO_TCP};
use portdoctor_parse::sockets::{OWNER_NEEDS, owner_remedy, write_sockets};
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn ok(command: &str, content: Vec<u8>) -> RawSource {
    RawSource { command: command.into(), outcome: Outcome::Ok, exit: Some(0), stderr: String::new(), content }
}

fn from_io_error(command: &str, e: &io::Error) -> RawSource {
    let outcome = match e.kind() {
        io::ErrorKind::NotFound => Outcome::ToolMissing,
        io::ErrorKind::PermissionDenied => Outcome::PermissionDenied,
        _ => Outcome::Failed,
    };
    RawSource { command: command.into(), outcome, exit: None, stderr: e.to_string(), content: vec![] }
}

/// Runs one allow-listed command (fixed argv, no shell) and records how it went; one that does
/// not finish within the tool timeout is stopped and recorded as timed out.
fn run(argv: &[&str]) -> RawSource {
    let command = argv.join(" ");
    let failed = |outcome, stderr| RawSource { command: command.clone(), outcome, exit: None, stderr, content: vec![] };
    match crate::child::output(Command::new(argv[0]).args(&argv[1..]), crate::child::tool_timeout()) {
        Err(crate::child::RunError::Spawn(e)) => from_io_error(&command, &e),
        Err(crate::child::RunError::TimedOut(t)) => failed(Outcome::TimedOut, crate::child::timed_out(&command, t)),
        Err(e @ crate::child::RunError::TooLarge) => failed(Outcome::Failed, e.into_io(&command).to_string()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let outcome = if out.status.success() {
                Outcome::Ok
            } else if stderr.contains("Permission denied") || stderr.contains("Operation not permitted") {
                Outcome::PermissionDenied
            } else {
                Outcome::Failed
            };
            RawSource { command, outcome, exit: out.status.code(), stderr, content: out.stdout }
        }
    }
}

/// The save command of one iptables backend: `iptables-nft-save` / `iptables-legacy-save`, else
/// plain `iptables-save` when that is the same backend (`iptables --version` says `(nf_tables)`
/// for nf_tables; `(legacy)`, or nothing before 1.8, for legacy — Amazon Linux 2, CentOS 7).
/// `None` when the only iptables here drives the other backend: this one has no tool here.
fn iptables_save(v6: bool, nft: bool) -> Option<RawSource> {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let specific = run(&[&format!("{tool}-{}-save", if nft { "nft" } else { "legacy" })]);
    if specific.outcome != Outcome::ToolMissing {
        return Some(specific);
    }
    let version = run(&[tool, "--version"]);
    if version.outcome != Outcome::Ok {
        return Some(specific);
    }
    let plain_is_nft = String::from_utf8_lossy(&version.content).contains("nf_tables");
    (plain_is_nft == nft).then(|| run(&[&format!("{tool}-save")]))
}

/// A file of the live host (procfs reports size 0, so the bound is on what is read; opened
/// non-blocking, so a FIFO where a file should be fails instead of hanging).
fn read(path: &str) -> RawSource {
    use std::os::unix::fs::OpenOptionsExt;
    let command = format!("cat {path}");
    let file = fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    match file.and_then(|f| crate::safe_fs::read_bounded(f, crate::safe_fs::MAX_FILE_BYTES)) {
        Ok(content) => ok(&command, content),
        Err(e) => from_io_error(&command, &e),
    }
}

/// The kernel settings the host layers read, in `sysctl` output form. Keys that do not exist
/// here (nf_conntrack not loaded) are left out, which is itself evidence.
fn sysctls(proc_sys: &Path) -> RawSource {
    let mut keys: Vec<String> = [
        "net.ipv4.ip_forward",
        "net.ipv6.conf.all.forwarding",
        "net.ipv6.bindv6only",
        "net.core.somaxconn",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ip_local_port_range",
        "net.netfilter.nf_conntrack_count",
        "net.netfilter.nf_conntrack_max",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // rp_filter of `all`, `default` and every interface: the effective value is the max of all
    // and the interface (ip-sysctl.rst).
    if let Ok(dirs) = fs::read_dir(proc_sys.join("net/ipv4/conf")) {
        let mut names: Vec<String> =
            dirs.flatten().filter_map(|d| d.file_name().to_str().map(str::to_string)).collect();
        names.sort();
        keys.extend(names.iter().map(|n| format!("net.ipv4.conf.{n}.rp_filter")));
        // Forwarding is decided per ingress interface (a published container port needs it).
        keys.extend(names.iter().map(|n| format!("net.ipv4.conf.{n}.forwarding")));
    }
    let mut text = String::new();
    for key in keys {
        if let Ok(v) = fs::read_to_string(proc_sys.join(key.replace('.', "/"))) {
            text += &format!("{key} = {}\n", v.trim());
        }
    }
    ok("sysctl (read from /proc/sys)", text.into_bytes())
}

/// This process's privilege (effective uid and /proc/self/status CapEff), so a permission
/// failure can name the capability root ran without.
pub fn privilege() -> Privilege {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    Privilege::from_status(&status, nix::unistd::geteuid().as_raw())
}

/// Adds, to each source that was denied, the capabilities root ran without (the remedy then
/// names them instead of "run as root").
fn note_capabilities(raw: &mut RawHost, p: &Privilege) {
    for (name, src) in raw.sources.iter_mut() {
        if src.outcome == Outcome::PermissionDenied
            && let Some(note) = p.root_without(portdoctor_parse::host::needs(name))
        {
            src.stderr = format!("{} ({note})", src.stderr.trim_end());
        }
    }
}

fn to_socket(proto: Proto, r: DiagRecord, owners: &procs::SocketOwners, denied: &str) -> Socket {
    let owners = match owners.by_inode.get(&r.inode) {
        Some(procs) => Knowledge::Known(procs.clone()),
        None if owners.denied => Knowledge::Unavailable(Missing::new("owning process", denied, owner_remedy(denied))),
        None => Knowledge::Known(vec![]),
    };
    let peer = (r.peer_port != 0 || !r.peer.is_unspecified()).then_some((r.peer, r.peer_port));
    Socket {
        proto,
        local: r.local,
        port: r.local_port,
        peer,
        state: SocketState::from_kernel(r.state),
        v6only: r.v6only,
        bound_ifindex: (r.ifindex != 0).then_some(r.ifindex),
        recv_q: r.recv_q,
        send_q: r.send_q,
        uid: r.uid,
        inode: r.inode,
        owners,
    }
}

fn sockets() -> RawSource {
    let command = "netlink sock_diag dump: TCP LISTEN, UDP all; IPv4+IPv6 (owners from /proc/PID/fd)";
    let mut out = Vec::new();
    for (protocol, proto) in [(IPPROTO_TCP, Proto::Tcp), (portdoctor_parse::sockdiag::IPPROTO_UDP, Proto::Udp)] {
        let records = match sockdiag::dump_protocol(protocol) {
            Ok(r) => r,
            Err(sockdiag::DumpError::Io(e)) => return from_io_error(command, &e),
            Err(e) => {
                return RawSource {
                    command: command.into(),
                    outcome: Outcome::Failed,
                    exit: None,
                    stderr: e.to_string(),
                    content: vec![],
                };
            }
        };
        out.extend(records.into_iter().map(|r| (proto, r)));
    }
    let owners = procs::scan(Path::new("/proc"));
    let mut denied = "permission denied reading other users' /proc/PID/fd".to_string();
    if let Some(note) = privilege().root_without(OWNER_NEEDS) {
        denied = format!("{denied} ({note})");
    }
    let sockets: Vec<Socket> = out.into_iter().map(|(proto, r)| to_socket(proto, r, &owners, &denied)).collect();
    ok(command, write_sockets(&sockets).into_bytes())
}

/// Tables iptables-nft shows with more rules than this are not listed through nft too: a
/// hand-written nftables table is far smaller, and iptables-made ones of kube-proxy's size take
/// nft many seconds (12 s for 100k rules).
const CROSS_CHECK_RULES: usize = 2000;

/// The (family, table) pairs nft need not list: those iptables-nft shows in full (`*filter` lines
/// it does not mark incompatible) and that are too big to be hand-written. A native nftables
/// table by an iptables name (`table ip filter` in nftables.conf) is marked incompatible, or
/// small: nft lists it, and the parser sees whether nft wrote it (rules without iptables-nft's
/// counters) — iptables-nft-save shows such rules without what it cannot translate (a set
/// lookup, `tcp dport { 80, 443 }`), so only nft's listing is whole.
pub(crate) fn iptables_nft_tables(raw: &RawHost) -> Vec<(String, String)> {
    big_iptables_tables([files::IPTABLES_NFT, files::IP6TABLES_NFT].map(|name| raw.sources.get(name)))
}

/// `iptables_nft_tables` of the two saves (IPv4, IPv6) themselves.
fn big_iptables_tables(saves: [Option<&RawSource>; 2]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (src, family) in saves.into_iter().zip(["ip", "ip6"]) {
        if let Some(src) = src.filter(|s| s.outcome == Outcome::Ok) {
            let held = portdoctor_parse::iptables::held_tables(&String::from_utf8_lossy(&src.content));
            out.extend(held.into_iter().filter(|(_, n)| *n > CROSS_CHECK_RULES).map(|(t, _)| (family.to_string(), t)));
        }
    }
    out
}

/// What the nftables listing is recorded as: the tables come from the kernel over netlink, each
/// one read is listed by nft alone.
const NFT_COMMAND: &str =
    "netlink NFT_MSG_GETTABLE dump; nft -j list table FAMILY NAME (each table not read from iptables-nft-save)";

/// Tables iptables-nft may own (`iptables-nft-save` shows them): only these can be left to it.
fn iptables_may_own(family: &str, name: &str) -> bool {
    matches!(family, "ip" | "ip6") && portdoctor_parse::iptables::TABLES.contains(&name)
}

/// `nft -j list table FAMILY NAME`, as the items of its `nftables` array (metainfo included).
fn nft_list_table(family: &str, name: &str) -> Result<Vec<serde_json::Value>, RawSource> {
    let one = run(&["nft", "-j", "list", "table", family, name]);
    if one.outcome != Outcome::Ok {
        return Err(RawSource { command: NFT_COMMAND.into(), ..one });
    }
    match serde_json::from_slice::<serde_json::Value>(&one.content) {
        Ok(mut v) => Ok(match v.get_mut("nftables").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(items)) => items,
            _ => vec![],
        }),
        Err(e) => Err(RawSource {
            command: NFT_COMMAND.into(),
            outcome: Outcome::Failed,
            exit: None,
            stderr: format!("nft -j list table {family} {name}: {e}"),
            content: vec![],
        }),
    }
}

/// The nftables tables as one `nft -j` document, less the big ones iptables-nft shows in full:
/// listing those through nft is slow (12 s for 100k rules, against 1.5 s for iptables-save) and
/// adds nothing, they are read from the save output. Which tables exist is asked of the kernel
/// (`nft list tables` fills nft's whole cache, every rule of every table, to name them); tables
/// iptables-nft cannot own are listed at once, beside the saves; the others once the saves say
/// which are theirs (`saves`, joined here). Each listing runs on its own thread.
fn nft_native_tables<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    saves: Vec<std::thread::ScopedJoinHandle<'s, Option<RawSource>>>,
) -> (Vec<Option<RawSource>>, RawSource, Option<RawSource>) {
    let join = |saves: Vec<std::thread::ScopedJoinHandle<'s, Option<RawSource>>>| -> Vec<Option<RawSource>> {
        saves.into_iter().map(|h| h.join().unwrap_or_else(|_| Some(panicked("the iptables listing")))).collect()
    };
    let tables = match crate::sockdiag::nft_tables() {
        Ok(t) => t,
        Err(e) => return (join(saves), from_io_error("netlink NFT_MSG_GETTABLE dump (the nftables tables)", &e), None),
    };
    // Only netdev and inet tables can hold ingress chains, whose device nft 1.0.6's JSON
    // leaves out; `nft list chains` names it. Not run otherwise: on a big ruleset it is slow.
    let chains = tables
        .iter()
        .any(|(f, _)| f == "netdev" || f == "inet")
        .then(|| scope.spawn(|| run(&["nft", "list", "chains"])));
    let spawn = |(f, n): (String, String)| scope.spawn(move || nft_list_table(&f, &n));
    let (maybe_owned, native): (Vec<_>, Vec<_>) = tables.into_iter().partition(|(f, n)| iptables_may_own(f, n));
    let mut listings: Vec<_> = native.into_iter().map(spawn).collect();
    let saves = join(saves);
    let owned = big_iptables_tables([0, 1].map(|i| saves.get(i).and_then(Option::as_ref)));
    listings.extend(maybe_owned.into_iter().filter(|t| !owned.contains(t)).map(spawn));
    let mut items: Vec<serde_json::Value> = Vec::new();
    let mut metainfo = false;
    for listing in listings {
        match listing.join().unwrap_or_else(|_| Err(panicked("nft -j list table"))) {
            Ok(table) => {
                for item in table {
                    // One metainfo (nft's version), as one listing of the whole ruleset has.
                    let meta = item.get("metainfo").is_some();
                    if !meta || !metainfo {
                        metainfo |= meta;
                        items.push(item);
                    }
                }
            }
            Err(failed) => return (saves, failed, chains.and_then(|h| h.join().ok())),
        }
    }
    let doc = serde_json::json!({ "nftables": items });
    let chains = chains.map(|h| h.join().unwrap_or_else(|_| panicked("nft list chains")));
    (saves, ok(NFT_COMMAND, serde_json::to_vec_pretty(&doc).unwrap_or_default()), chains)
}

/// A collection thread that panicked: its source failed, the rest of the evidence stands.
fn panicked(what: &str) -> RawSource {
    RawSource {
        command: what.into(),
        outcome: Outcome::Failed,
        exit: None,
        stderr: format!("reading {what} failed (a portdoctor bug: please report it)"),
        content: vec![],
    }
}

/// `/proc/PID/maps` of every process that has libwrap mapped, one per line.
fn libwrap_pids(proc_root: &Path) -> RawSource {
    let mut hits = Vec::new();
    if let Ok(dirs) = fs::read_dir(proc_root) {
        for d in dirs.flatten() {
            let name = d.file_name();
            if name.to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                && let Ok(maps) = fs::read(d.path().join("maps"))
                && maps.windows(7).any(|w| w == b"libwrap")
            {
                hits.push(format!("{}/maps", d.path().display()));
            }
        }
    }
    hits.sort();
    ok("grep -l libwrap /proc/[0-9]*/maps", (hits.join("\n") + "\n").into_bytes())
}

/// What is read inside each container namespace, entered with nsenter (the same commands as
/// for the host, so one parser reads both).
pub(crate) const NETNS_COMMANDS: [(&str, &[&str]); 2] =
    [(files::IP_ADDR, &["ip", "-j", "addr", "show"]), (files::SS, &["ss", "-H", "-tulpne"])];

/// The namespaces of this host's processes other than ours, by namespace inode: a process in
/// each (to enter it by) and the processes inside (at most ten named).
fn other_namespaces(proc_root: &Path) -> Vec<(u32, Vec<Process>)> {
    let own = fs::read_link(proc_root.join("self/ns/net")).ok();
    let mut by_ns: std::collections::BTreeMap<std::path::PathBuf, Vec<Process>> = Default::default();
    let Ok(dirs) = fs::read_dir(proc_root) else { return vec![] };
    for d in dirs.flatten() {
        let Some(pid) = d.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(ns) = fs::read_link(d.path().join("ns/net")) else { continue };
        if Some(&ns) == own.as_ref() {
            continue;
        }
        let name = fs::read_to_string(d.path().join("comm")).map(|c| c.trim().to_string()).unwrap_or_default();
        by_ns.entry(ns).or_default().push(Process { pid, name });
    }
    by_ns
        .into_values()
        .map(|mut procs| {
            procs.sort_by_key(|p| p.pid);
            (procs[0].pid, procs)
        })
        .collect()
}

/// The namespaces joined to this one by a veth (they have an nsid here): containers, pods.
/// Each is read with `nsenter -t PID -n` — root only, like everything that looks inside them.
fn collect_netns(raw: &mut RawHost) {
    let p = privilege();
    if !p.lacking(portdoctor_parse::host::needs(files::NETNS)).is_empty() {
        // As root, the note added below names the capabilities that were missing.
        let why = if p.root { "is not permitted" } else { "needs root" };
        let denied =
            io::Error::new(io::ErrorKind::PermissionDenied, format!("entering other network namespaces {why}"));
        raw.sources.insert(files::NETNS.to_string(), from_io_error("nsenter -t PID -n (each container)", &denied));
        return;
    }
    let mut entries = Vec::new();
    let mut failure = None;
    for (pid, mut processes) in other_namespaces(Path::new("/proc")) {
        let nsid = match crate::sockdiag::nsid_of_pid(pid) {
            Ok(Some(id)) => id,
            Ok(None) => continue,
            Err(e) => {
                failure.get_or_insert_with(|| from_io_error("netlink RTM_GETNSID", &e));
                continue;
            }
        };
        for (base, argv) in NETNS_COMMANDS {
            let pid_arg = pid.to_string();
            let mut full = vec!["nsenter", "-t", &pid_arg, "-n", "--"];
            full.extend_from_slice(argv);
            raw.sources.insert(files::netns_file(nsid, base), run(&full));
        }
        processes.truncate(10);
        entries.push(NetnsEntry { nsid, pid, processes });
    }
    let src = match failure {
        Some(f) if entries.is_empty() => f,
        _ => ok(
            "ls -l /proc/[0-9]*/ns/net; RTM_GETNSID for each (namespaces paired with this one)",
            serde_json::to_vec_pretty(&entries).unwrap_or_default(),
        ),
    };
    raw.sources.insert(files::NETNS.to_string(), src);
}

/// The TCP counters, read at the start of collection and again at its end.
pub(crate) const NETSTAT_PATH: &str = "/proc/net/netstat";

/// How the tc ingress source is described (local and over SSH alike).
pub(crate) const TC_INGRESS_COMMAND: &str =
    "tc -j qdisc show; tc -j filter show dev IF ingress (each interface with an ingress or clsact qdisc)";

/// The tc ingress side of every interface as one document: `{"qdiscs": <tc -j qdisc show>,
/// "filters": {"IF": <tc -j filter show dev IF ingress>}}` for each interface with an ingress
/// or clsact qdisc (only those can have ingress filters). A listing that fails is the source's
/// failure: a filter not seen would be taken for none.
fn tc_ingress() -> RawSource {
    let qdiscs = run(&["tc", "-j", "qdisc", "show"]);
    if qdiscs.outcome != Outcome::Ok {
        return qdiscs;
    }
    let failed = |stderr: String| RawSource {
        command: TC_INGRESS_COMMAND.into(),
        outcome: Outcome::Failed,
        exit: None,
        stderr,
        content: vec![],
    };
    let list: serde_json::Value = match serde_json::from_slice(&qdiscs.content) {
        Ok(v) => v,
        Err(e) => return failed(format!("tc -j qdisc show: {e}")),
    };
    let mut filters = serde_json::Map::new();
    for q in list.as_array().into_iter().flatten() {
        let kind = q.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        let Some(dev) = q.get("dev").and_then(|d| d.as_str()) else { continue };
        if kind != "ingress" && kind != "clsact" {
            continue;
        }
        let one = run(&["tc", "-j", "filter", "show", "dev", dev, "ingress"]);
        if one.outcome != Outcome::Ok {
            return RawSource { command: TC_INGRESS_COMMAND.into(), ..one };
        }
        // tc prints nothing at all for an ingress without filters.
        let parsed = if one.content.iter().all(u8::is_ascii_whitespace) {
            Ok(serde_json::Value::Array(vec![]))
        } else {
            serde_json::from_slice(&one.content)
        };
        match parsed {
            Ok(v) => {
                filters.insert(dev.to_string(), v);
            }
            Err(e) => return failed(format!("tc -j filter show dev {dev} ingress: {e}")),
        }
    }
    let doc = serde_json::json!({"qdiscs": list, "filters": filters});
    ok(TC_INGRESS_COMMAND, serde_json::to_vec_pretty(&doc).unwrap_or_default())
}

/// Every service's state and command line.
pub(crate) const SYSTEMCTL_SHOW: [&str; 4] =
    ["systemctl", "show", "--property=Id,ActiveState,SubState,Result,NRestarts,ExecStart", "*.service"];
/// The journal's last 500 warnings and worse (bind errors, crashes, restarts).
pub(crate) const JOURNAL_WARNINGS: [&str; 8] =
    ["journalctl", "-p", "warning", "-n", "500", "--no-pager", "-o", "short-iso"];

/// The AVC records of the audit log (the last 1,000), not the whole log.
fn avc_lines(path: &str) -> RawSource {
    let mut src = read(path);
    if src.outcome == Outcome::Ok {
        let text = String::from_utf8_lossy(&src.content);
        let avc: Vec<&str> = text.lines().filter(|l| l.contains("avc:")).collect();
        let keep = &avc[avc.len().saturating_sub(1000)..];
        src.command = format!("grep 'avc:' {path} | tail -n 1000");
        src.content = (keep.join("\n") + "\n").into_bytes();
    }
    src
}

/// The legacy (x_tables) listings: the loaded tables' names, and the save of each family whose
/// names are not empty (listing them would load them). The names are read, not sized: /proc
/// files report size 0.
fn legacy_saves() -> Vec<(&'static str, RawSource)> {
    let mut out = Vec::new();
    for (names_file, proc_path, save_file, v6) in [
        (files::IP_TABLES_NAMES, "/proc/net/ip_tables_names", files::IPTABLES_LEGACY, false),
        (files::IP6_TABLES_NAMES, "/proc/net/ip6_tables_names", files::IP6TABLES_LEGACY, true),
    ] {
        let names = read(proc_path);
        let loaded = names.outcome == Outcome::Ok && !names.content.iter().all(u8::is_ascii_whitespace);
        out.push((names_file, names));
        if loaded {
            let missing = || {
                from_io_error(
                    if v6 { "ip6tables-legacy-save" } else { "iptables-legacy-save" },
                    &io::Error::from(io::ErrorKind::NotFound),
                )
            };
            out.push((save_file, iptables_save(v6, false).unwrap_or_else(missing)));
        }
    }
    out
}

/// systemd's services and the journal's recent warnings, where systemd runs (sd_booted()).
fn systemd() -> Vec<(&'static str, RawSource)> {
    if Path::new("/run/systemd/system").is_dir() {
        vec![(files::SYSTEMD_SHOW, run(&SYSTEMCTL_SHOW)), (files::JOURNAL, run(&JOURNAL_WARNINGS))]
    } else {
        let none = io::Error::new(io::ErrorKind::NotFound, "not booted with systemd (no /run/systemd/system)");
        vec![(files::SYSTEMD_SHOW, from_io_error(&SYSTEMCTL_SHOW.join(" "), &none))]
    }
}

/// SELinux only where the kernel has it (semanage is slow, and pointless without it).
fn selinux() -> Vec<(&'static str, RawSource)> {
    let enforce = read("/sys/fs/selinux/enforce");
    let on = enforce.outcome == Outcome::Ok;
    let mut out = vec![(files::SELINUX_ENFORCE, enforce)];
    if on {
        out.push((files::SELINUX_CONFIG, read("/etc/selinux/config")));
        out.push((files::SEMANAGE_PORTS, run(&["semanage", "port", "-l"])));
        out.push((files::AUDIT_AVC, avc_lines("/var/log/audit/audit.log")));
    }
    out
}

/// The least time between the two samples of the TCP counters: a listener that is overflowing
/// right now gets a moment to show it in the counter.
const COUNTER_INTERVAL: Duration = Duration::from_millis(200);

/// Collects everything `portdoctor host` reads. The TCP counters are sampled at the start and
/// again at the end, so a counter that moves is seen moving.
///
/// Every listing runs on its own thread (each under the tool timeout, as before): on a
/// kube-proxy-sized ruleset the time is iptables-nft-save's, not the sum of all the tools'.
/// Nothing is read twice: nft lists only the tables iptables-nft-save does not already show in
/// full.
pub fn collect_host() -> RawHost {
    let started = std::time::Instant::now();
    let mut raw = RawHost::default();
    let mut put = |name: &str, src: RawSource| {
        raw.sources.insert(name.to_string(), src);
    };
    put(files::NETSTAT, read(NETSTAT_PATH));
    type Sources = Vec<(&'static str, RawSource)>;
    let gathered: (Vec<Sources>, RawHost) = std::thread::scope(|s| {
        // The firewall first: on a big ruleset it takes longest.
        let saves = vec![s.spawn(|| iptables_save(false, true)), s.spawn(|| iptables_save(true, true))];
        let nft = s.spawn(move || nft_native_tables(s, saves));
        let mut jobs: Vec<std::thread::ScopedJoinHandle<'_, Sources>> = vec![
            s.spawn(legacy_saves),
            s.spawn(systemd),
            s.spawn(selinux),
            s.spawn(|| vec![(files::SOCKETS, sockets())]),
            s.spawn(|| vec![(files::TC_INGRESS, tc_ingress())]),
            s.spawn(|| {
                let mut v: Sources = host_files().map(|(name, path)| (name, read(path))).collect();
                v.push((files::SYSCTL, sysctls(Path::new("/proc/sys"))));
                // TCP wrappers: which processes link libwrap (only they read hosts.allow/deny).
                v.push((files::LIBWRAP_PIDS, libwrap_pids(Path::new("/proc"))));
                v
            }),
        ];
        jobs.extend(commands().map(|(name, argv)| s.spawn(move || vec![(name, run(argv))])));
        let netns = s.spawn(|| {
            let mut inside = RawHost::default();
            collect_netns(&mut inside);
            inside
        });
        // A thread that panicked (a bug) leaves its sources out: they are unknown, named as
        // not in the evidence, and the rest stands.
        let mut all: Vec<Sources> = jobs.into_iter().map(|h| h.join().unwrap_or_default()).collect();
        let (saved, nft, chains) = nft.join().unwrap_or_else(|_| (vec![], panicked("the firewall listings"), None));
        let mut fw: Sources = vec![(files::NFT_RULESET, nft)];
        fw.extend(chains.map(|src| (files::NFT_CHAINS, src)));
        for (name, src) in [files::IPTABLES_NFT, files::IP6TABLES_NFT].into_iter().zip(saved) {
            fw.extend(src.map(|src| (name, src)));
        }
        all.push(fw);
        (all, netns.join().unwrap_or_default())
    });
    for (name, src) in gathered.0.into_iter().flatten() {
        put(name, src);
    }
    raw.sources.extend(gathered.1.sources);
    note_capabilities(&mut raw, &privilege());
    std::thread::sleep(COUNTER_INTERVAL.saturating_sub(started.elapsed()));
    raw.sources.insert(files::NETSTAT_LATER.to_string(), read(NETSTAT_PATH));
    raw
}
