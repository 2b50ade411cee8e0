//! A host's raw evidence (one entry per source, live or from a snapshot folder) → `HostEvidence`.
//!
//! Each source keeps how it was obtained (command, outcome, exit status, stderr), so a tool that
//! is absent, a permission that is missing and an empty answer stay different things all the way
//! to the report.

use crate::privilege::Cap;
use crate::{ParseError, datapath, iproute, ipset, iptables, nft, procfs, selinux, sockets, systemd, wrappers};
use portdoctor_model::firewall::{Backend, ChainKind, FwFamily, Netfilter};
use portdoctor_model::host::{Conntrack, HostEvidence, Netns, Selinux, Services, TcpWrappers, Xfrm};
use portdoctor_model::knowledge::{EvidenceSource, Fact, Knowledge, Missing, Sourced};
use portdoctor_model::net::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::host_sources::files;

/// One entry of `netns.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetnsEntry {
    pub nsid: i32,
    /// A process inside, to enter the namespace by (`nsenter -t PID -n`).
    pub pid: u32,
    pub processes: Vec<portdoctor_model::host::Process>,
}

/// How a source was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    /// The command or file does not exist on this host.
    ToolMissing,
    PermissionDenied,
    /// Ran, but failed (see exit and stderr).
    Failed,
    /// Did not finish in time and was stopped (stderr says after how long).
    TimedOut,
}

impl Outcome {
    /// The outcome as the manifest writes it (`tool-missing`), for a person reading the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolMissing => "tool-missing",
            Outcome::PermissionDenied => "permission-denied",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed-out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSource {
    /// The command run or file read, as a person would type it.
    pub command: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// The output itself; stored as its own file in a snapshot, not in the manifest.
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// All sources of one host, by snapshot file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHost {
    pub sources: BTreeMap<String, RawSource>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    sources: BTreeMap<String, RawSource>,
}

const MANIFEST_FORMAT: &str = "portdoctor-host-snapshot";

pub fn write_manifest(raw: &RawHost, created: Option<String>) -> String {
    let m = Manifest { format: MANIFEST_FORMAT.into(), version: 1, created, sources: raw.sources.clone() };
    serde_json::to_string_pretty(&m).unwrap_or_default() + "\n"
}

/// A whole host snapshot as one JSON document on stdout (`snapshot host --out -`), for reading a
/// host over SSH in one command: the manifest plus each source's text.
pub fn write_bundle(raw: &RawHost, created: Option<String>) -> String {
    let files: BTreeMap<&str, String> = raw
        .sources
        .iter()
        .filter(|(_, s)| s.outcome == Outcome::Ok)
        .map(|(n, s)| (n.as_str(), String::from_utf8_lossy(&s.content).into_owned()))
        .collect();
    let manifest: serde_json::Value = serde_json::from_str(&write_manifest(raw, created)).unwrap_or_default();
    serde_json::json!({"format": BUNDLE_FORMAT, "version": 1, "manifest": manifest, "files": files}).to_string()
}

const BUNDLE_FORMAT: &str = "portdoctor-host-bundle";

/// Reads `write_bundle`'s document back (`file` names where it came from, for errors).
pub fn read_bundle(file: &str, text: &str) -> Result<RawHost, ParseError> {
    #[derive(Deserialize)]
    struct Bundle {
        format: String,
        manifest: serde_json::Value,
        files: BTreeMap<String, String>,
    }
    let b: Bundle = serde_json::from_str(text)
        .map_err(|e| ParseError::new(file, format!("line {} column {}", e.line(), e.column()), e.to_string()))?;
    if b.format != BUNDLE_FORMAT {
        return Err(ParseError::new(file, "format", format!("{} is not a host bundle", crate::excerpt(&b.format))));
    }
    let mut raw = RawHost::default();
    for (name, mut src) in parse_manifest(&b.manifest.to_string())
        .map_err(|e| ParseError::new(file, format!("manifest.{}", e.field), e.message))?
    {
        if src.outcome == Outcome::Ok {
            src.content = b
                .files
                .get(&name)
                .ok_or_else(|| ParseError::new(file, format!("files.{name}"), "listed as obtained but missing"))?
                .clone()
                .into_bytes();
        }
        raw.sources.insert(name, src);
    }
    Ok(raw)
}

/// Reads the manifest's source descriptions (without contents, which live in their own files).
pub fn parse_manifest(text: &str) -> Result<BTreeMap<String, RawSource>, ParseError> {
    let m: Manifest = serde_json::from_str(text).map_err(|e| {
        ParseError::new(files::MANIFEST, format!("line {} column {}", e.line(), e.column()), e.to_string())
    })?;
    if m.format != MANIFEST_FORMAT {
        return Err(ParseError::new(
            files::MANIFEST,
            "format",
            format!("{} is not a host snapshot", crate::excerpt(&m.format)),
        ));
    }
    if m.version != 1 {
        return Err(ParseError::new(
            files::MANIFEST,
            "version",
            format!("version {} is newer than this portdoctor reads (1)", m.version),
        ));
    }
    Ok(m.sources)
}

/// What each source is, and what to install when its tool is missing.
fn describe(name: &str) -> (&'static str, &'static str) {
    crate::host_sources::host_source(name).map_or(crate::host_sources::GENERIC, |s| (s.what, s.install))
}

/// The capabilities a source needs beyond an ordinary user's (see `HostSource::needs`); a
/// container namespace's own files need what entering it takes.
pub fn needs(name: &str) -> &'static [Cap] {
    match crate::host_sources::host_source(name) {
        Some(s) => s.needs,
        None if name.starts_with("netns-") => &[Cap::SysAdmin, Cap::SysPtrace],
        None => &[],
    }
}

fn source<'a>(raw: &'a RawHost, name: &str) -> Result<&'a [u8], Missing> {
    let (what, install) = describe(name);
    let Some(src) = raw.sources.get(name) else {
        return Err(Missing::new(
            what,
            format!("{name} is not in the evidence"),
            "collect it live, or take a full snapshot with `portdoctor snapshot host --out DIR`",
        ));
    };
    let detail = if src.stderr.trim().is_empty() { String::new() } else { format!(": {}", src.stderr.trim()) };
    match src.outcome {
        Outcome::Ok => Ok(&src.content),
        Outcome::ToolMissing => {
            Err(Missing::new(what, format!("`{}` is not available{detail}", src.command), format!("install {install}")))
        }
        Outcome::PermissionDenied => Err(Missing::new(
            what,
            format!("`{}`: permission denied{detail}", src.command),
            crate::privilege::remedy(needs(name), &src.stderr),
        )),
        Outcome::Failed => Err(Missing::new(
            what,
            format!(
                "`{}` failed{}{detail}",
                src.command,
                src.exit.map(|c| format!(" with exit status {c}")).unwrap_or_default()
            ),
            "run the command by hand to see why",
        )),
        Outcome::TimedOut => Err(Missing::new(
            what,
            match src.stderr.trim() {
                "" => format!("`{}` did not finish in time (stopped)", src.command),
                why => why.to_string(),
            },
            // The command is the evidence's own word (a snapshot's manifest): it may be named in
            // the reason, never offered as something to run.
            "run the command named above by hand to see why it hangs (a stuck lock or kernel module?), or allow it longer with PORTDOCTOR_TOOL_TIMEOUT=SECONDS",
        )),
    }
}

fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError::new(name, format!("byte {}", e.valid_up_to()), "not UTF-8 text"))
}

/// Parses one source if it was obtained; keeps why not if it was not.
fn parse_source<T>(
    raw: &RawHost,
    name: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, ParseError>,
) -> Result<Knowledge<T>, ParseError> {
    match source(raw, name) {
        Ok(bytes) => Ok(Knowledge::Known(parse(name, text(name, bytes)?)?)),
        Err(missing) => Ok(Knowledge::Unavailable(missing)),
    }
}

/// The source `name` as the evidence holds it: its name, and the command run or file read.
fn source_ref(raw: &RawHost, name: &str) -> EvidenceSource {
    EvidenceSource {
        name: name.to_string(),
        obtained_by: raw.sources.get(name).map(|s| s.command.clone()).unwrap_or_default(),
    }
}

/// `parse_source`, keeping the source with the fact.
fn parse_fact<T>(
    raw: &RawHost,
    name: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, ParseError>,
) -> Result<Fact<T>, ParseError> {
    Ok(Sourced::new(source_ref(raw, name), parse_source(raw, name, parse)?))
}

/// SELinux: `Known(None)` when the kernel has none (no /sys/fs/selinux/enforce); unknown when
/// the evidence does not say (a snapshot from before it was collected).
fn parse_selinux(raw: &RawHost, notes: &mut Vec<String>) -> Result<Fact<Option<Selinux>>, ParseError> {
    let from = source_ref(raw, files::SELINUX_ENFORCE);
    let mode = match raw.sources.get(files::SELINUX_ENFORCE) {
        Some(s) if s.outcome == Outcome::ToolMissing => return Ok(Sourced::new(from, Knowledge::Known(None))),
        _ => match parse_source(raw, files::SELINUX_ENFORCE, selinux::parse_enforce)? {
            Knowledge::Known(m) => m,
            Knowledge::Unavailable(m) => return Ok(Sourced::new(from, Knowledge::Unavailable(m))),
        },
    };
    let (at_boot, policy) = match source(raw, files::SELINUX_CONFIG) {
        Ok(b) => selinux::parse_config(text(files::SELINUX_CONFIG, b)?),
        Err(_) => Default::default(),
    };
    let ports = parse_source(raw, files::SEMANAGE_PORTS, |f, t| Ok(selinux::parse_semanage_ports(f, t, notes)))?;
    let denials = parse_fact(raw, files::AUDIT_AVC, |f, t| Ok(selinux::parse_avc(f, t, notes)))?;
    let config_from = source_ref(raw, files::SELINUX_CONFIG);
    Ok(Sourced::new(from, Knowledge::Known(Some(Selinux { mode, at_boot, policy, config_from, ports, denials }))))
}

pub fn parse_host(raw: &RawHost) -> Result<HostEvidence, ParseError> {
    let hostname = match source(raw, files::HOSTNAME) {
        Ok(b) => Some(text(files::HOSTNAME, b)?.trim().to_string()),
        Err(_) => None,
    };
    let sockets = parse_fact(raw, files::SOCKETS, sockets::parse_sockets)?;
    let interfaces = parse_fact(raw, files::IP_ADDR, iproute::parse_addr)?;
    let routes4 = parse_source(raw, files::IP_ROUTE, |f, t| iproute::parse_routes(f, t, Family::V4))?;
    let routes6 = parse_source(raw, files::IP6_ROUTE, |f, t| iproute::parse_routes(f, t, Family::V6))?;
    let mut notes = Vec::new();
    // A host without IPv6 has no IPv6 routes; that must not hide the IPv4 ones.
    let routes = match (routes4, routes6) {
        (Knowledge::Known(mut v4), Knowledge::Known(v6)) => {
            v4.extend(v6);
            Knowledge::Known(v4)
        }
        (Knowledge::Known(v4), Knowledge::Unavailable(m)) => {
            notes.push(format!("IPv6 routes: {}", m.describe()));
            Knowledge::Known(v4)
        }
        (Knowledge::Unavailable(m), _) => Knowledge::Unavailable(m),
    };
    let routes = Sourced::new(source_ref(raw, files::IP_ROUTE), routes);
    let netstat = parse_fact(raw, files::NETSTAT, procfs::parse_counters)?;
    let netstat_later = parse_fact(raw, files::NETSTAT_LATER, procfs::parse_counters)?;
    let sysctl = parse_fact(raw, files::SYSCTL, procfs::parse_sysctl)?;
    let rules = parse_fact(raw, files::IP_RULE, iproute::parse_rules)?;
    let rules6 = parse_fact(raw, files::IP6_RULE, iproute::parse_rules)?;
    let stat = parse_source(raw, files::CONNTRACK_STAT, procfs::parse_conntrack_stat)?;
    let conntrack = match sysctl.fact.clone() {
        Knowledge::Unavailable(m) => Knowledge::Unavailable(m),
        Knowledge::Known(map) => {
            let num = |key: &str| -> Result<Option<u64>, ParseError> {
                map.get(key)
                    .map(|v| {
                        v.parse::<u64>()
                            .map_err(|_| ParseError::new(files::SYSCTL, key, format!("'{v}' is not a number")))
                    })
                    .transpose()
            };
            match (num("net.netfilter.nf_conntrack_count")?, num("net.netfilter.nf_conntrack_max")?) {
                (Some(count), Some(max)) => {
                    let stat = stat.known();
                    let col = |c: &str| stat.and_then(|s| s.get(c).copied());
                    Knowledge::Known(Conntrack::Loaded {
                        count,
                        max,
                        drop: col("drop"),
                        early_drop: col("early_drop"),
                        insert_failed: col("insert_failed"),
                        stats_from: source_ref(raw, files::CONNTRACK_STAT),
                    })
                }
                _ => Knowledge::Known(Conntrack::NotLoaded),
            }
        }
    };
    let conntrack = Sourced::new(sysctl.from.clone(), conntrack);
    let netfilter = parse_netfilter(raw, &mut notes)?;
    let selinux = parse_selinux(raw, &mut notes)?;
    let services = match raw.sources.get(files::SYSTEMD_SHOW) {
        Some(s) if s.outcome == Outcome::ToolMissing => Knowledge::Known(None),
        _ => match parse_source(raw, files::SYSTEMD_SHOW, systemd::parse_show)? {
            Knowledge::Known(units) => Knowledge::Known(Some(Services {
                units,
                units_from: files::SYSTEMD_SHOW.to_string(),
                journal: parse_source(raw, files::JOURNAL, |_, t| Ok(systemd::parse_journal(t)))?,
            })),
            Knowledge::Unavailable(m) => Knowledge::Unavailable(m),
        },
    };
    // An absent hosts file is an empty one (hosts_access(5)).
    let hosts_rules = |name: &str, notes: &mut Vec<String>| match source(raw, name) {
        Ok(b) => Ok(wrappers::parse_hosts_access(name, text(name, b)?, notes)),
        Err(_) => Ok::<_, ParseError>(Vec::new()),
    };
    let tcp_wrappers = match raw.sources.get(files::LIBWRAP_PIDS) {
        None => Knowledge::Unavailable(Missing::new(
            "TCP wrappers",
            format!("{} is not in the evidence", files::LIBWRAP_PIDS),
            "take a new snapshot with this portdoctor",
        )),
        Some(_) => Knowledge::Known(TcpWrappers {
            allow: hosts_rules(files::HOSTS_ALLOW, &mut notes)?,
            deny: hosts_rules(files::HOSTS_DENY, &mut notes)?,
            libwrap_pids: parse_source(raw, files::LIBWRAP_PIDS, |_, t| Ok(wrappers::parse_pids(t)))?,
        }),
    };
    let netns = parse_netns(raw, &mut notes)?;
    let tc_ingress = collected(raw, files::TC_INGRESS, datapath::parse_tc_ingress)?;
    let xfrm = collected(raw, files::XFRM_POLICY, |f, t| datapath::parse_xfrm_policy(f, t, &mut notes))?;
    let xfrm = Sourced::new(
        xfrm.from,
        match xfrm.fact {
            Some(Knowledge::Known(policies)) => {
                let default_block = match parse_source(raw, files::XFRM_DEFAULT, datapath::parse_xfrm_default)? {
                    Knowledge::Known(d) => Some(d),
                    Knowledge::Unavailable(_) => None,
                };
                Some(Knowledge::Known(Xfrm {
                    policies,
                    default_block,
                    defaults_from: source_ref(raw, files::XFRM_DEFAULT),
                }))
            }
            Some(Knowledge::Unavailable(m)) => Some(Knowledge::Unavailable(m)),
            None => None,
        },
    );
    Ok(HostEvidence {
        hostname,
        sockets,
        interfaces,
        routes,
        routes6_from: source_ref(raw, files::IP6_ROUTE),
        rules,
        rules6,
        sysctl,
        netstat,
        netstat_later,
        conntrack,
        netfilter,
        selinux,
        services,
        tcp_wrappers,
        netns,
        tc_ingress,
        xfrm,
        notes,
    })
}

/// A source newer snapshots hold: `None` when the evidence does not have it at all (taken by
/// an older portdoctor: not collected, which is not a failure), else as `parse_source`.
fn collected<T>(
    raw: &RawHost,
    name: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, ParseError>,
) -> Result<Sourced<Option<Knowledge<T>>>, ParseError> {
    let from = source_ref(raw, name);
    if !raw.sources.contains_key(name) {
        return Ok(Sourced::new(from, None));
    }
    Ok(Sourced::new(from, Some(parse_source(raw, name, parse)?)))
}

/// The container namespaces: each one's interfaces and listening sockets (from `ss`, entered
/// with nsenter as root, so every owner is visible).
fn parse_netns(raw: &RawHost, notes: &mut Vec<String>) -> Result<Fact<Vec<Netns>>, ParseError> {
    let from = source_ref(raw, files::NETNS);
    let entries = match parse_source(raw, files::NETNS, |f, t| {
        serde_json::from_str::<Vec<NetnsEntry>>(t)
            .map_err(|e| ParseError::new(f, format!("line {} column {}", e.line(), e.column()), e.to_string()))
    })? {
        Knowledge::Known(e) => e,
        Knowledge::Unavailable(m) => return Ok(Sourced::new(from, Knowledge::Unavailable(m))),
    };
    let mut out = Vec::new();
    for e in entries {
        let addr_file = files::netns_file(e.nsid, files::IP_ADDR);
        let ss_file = files::netns_file(e.nsid, files::SS);
        let interfaces = parse_source(raw, &addr_file, iproute::parse_addr)?;
        let ip_addr = source(raw, &addr_file).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let index = crate::ss::ifindexes(&ip_addr);
        let sockets = parse_source(raw, &ss_file, |f, t| crate::ss::parse_ss(f, t, &index, true, notes))?;
        let sockets_from = source_ref(raw, &ss_file);
        out.push(Netns { nsid: e.nsid, processes: e.processes, interfaces, sockets, sockets_from });
    }
    Ok(Sourced::new(from, Knowledge::Known(out)))
}

/// How nft names a family.
fn family_word(family: FwFamily) -> &'static str {
    match family {
        FwFamily::Ip => "ip",
        FwFamily::Ip6 => "ip6",
        FwFamily::Inet => "inet",
        FwFamily::Netdev => "netdev",
        FwFamily::Other => "bridge/arp",
    }
}

/// Every backend at once, as the kernel sees them: iptables over nf_tables, legacy iptables
/// when its tables are loaded, native nftables tables, and the ipsets.
///
/// Each nf_tables table is read by exactly one reader that can read all of it: iptables-nft when
/// its save output holds the table, does not mark it incompatible, and (where nft's listing has
/// the table too) every rule carries the counter iptables-nft gives each rule it writes; else
/// nft, when its listing shows no iptables extensions (`xt`, which nft cannot translate). A table
/// neither can read in full is named in `unmodeled` (the walk is then unknown), never taken as
/// empty.
fn parse_netfilter(raw: &RawHost, notes: &mut Vec<String>) -> Result<Knowledge<Netfilter>, ParseError> {
    let mut nf = Netfilter::default();
    let mut read_any = false;
    let mut missing: Vec<Missing> = Vec::new();
    // What iptables-nft showed, per family: the save, or why it was not read.
    let mut nft_saves: Vec<(FwFamily, &str, Result<iptables::Save, String>)> = Vec::new();
    for (name, backend, family) in [
        (files::IPTABLES_NFT, Backend::IptablesNft, FwFamily::Ip),
        (files::IP6TABLES_NFT, Backend::IptablesNft, FwFamily::Ip6),
        (files::IPTABLES_LEGACY, Backend::IptablesLegacy, FwFamily::Ip),
        (files::IP6TABLES_LEGACY, Backend::IptablesLegacy, FwFamily::Ip6),
    ] {
        let save = match parse_source(raw, name, |f, t| iptables::read_save(f, t, backend, family))? {
            Knowledge::Known(save) => {
                read_any = true;
                nf.tables.extend(save.complete_tables().cloned());
                for (table, why) in &save.unreadable {
                    nf.unmodeled.push(format!(
                        "{} table {table} could not be read in full ({name}, {why}): its rules are not evaluated",
                        backend.name()
                    ));
                    if table == "nat" {
                        nf.unread_nat.push((family, format!("{} table nat ({name}: {why})", backend.name())));
                    }
                }
                Ok(save)
            }
            Knowledge::Unavailable(m) => {
                let why = m.reason.clone();
                if raw.sources.contains_key(name) {
                    missing.push(m);
                }
                Err(why)
            }
        };
        if backend == Backend::IptablesNft {
            nft_saves.push((family, name, save));
        }
    }
    // Legacy tables that are loaded but were not read would be missed: unknown then.
    for (names, save, tool, family) in [
        (files::IP_TABLES_NAMES, files::IPTABLES_LEGACY, "iptables-legacy-save", FwFamily::Ip),
        (files::IP6_TABLES_NAMES, files::IP6TABLES_LEGACY, "ip6tables-legacy-save", FwFamily::Ip6),
    ] {
        if let Ok(bytes) = source(raw, names) {
            let text = String::from_utf8_lossy(bytes);
            let loaded: Vec<&str> = text.split_whitespace().collect();
            if !loaded.is_empty() && source(raw, save).is_err() {
                let why = match source(raw, save) {
                    Err(m) if raw.sources.contains_key(save) => m.reason,
                    _ => format!("{save} is not in the evidence"),
                };
                if loaded.contains(&"nat") {
                    nf.unread_nat
                        .push((family, format!("iptables-legacy table nat (loaded, {names}; not read: {why})")));
                }
                nf.unmodeled.push(format!(
                    "iptables-legacy tables are loaded ({names} lists {}) but their rules were not read ({why}): run `{tool}` as root on the host, or take a new snapshot with this portdoctor",
                    loaded.join(", ")
                ));
            }
        }
    }
    let saved = |family: FwFamily| nft_saves.iter().find(|(f, _, _)| *f == family);
    // The nf_tables tables neither reader could read, by family and name.
    let mut unread: Vec<(FwFamily, String)> = Vec::new();
    let nft_read = match parse_source(raw, files::NFT_RULESET, nft::read_ruleset)? {
        Knowledge::Known(rs) => {
            read_any = true;
            for t in rs.nf.tables {
                let save = saved(t.family);
                let key = (t.family, t.name.clone());
                let xt = rs.xt_tables.contains(&key);
                if let Some((_, file, Ok(s))) = save
                    && s.complete_tables().any(|c| c.name == t.name)
                {
                    if !rs.uncounted_tables.contains(&key) {
                        continue; // iptables-nft's own table, read from its save output
                    }
                    // Rules written with nft in a table iptables-nft shows as its own: what it
                    // cannot translate (a set lookup, `tcp dport { 80, 443 }`) it leaves out of
                    // the rule without a word, so its view is not the table.
                    nf.tables
                        .retain(|c| !(c.backend == Backend::IptablesNft && c.family == t.family && c.name == t.name));
                    if !xt {
                        notes.push(format!(
                            "table {} {} holds rules written with nft (no iptables-nft counter): read from nft's listing, not from {file}, which leaves out what iptables cannot translate",
                            family_word(t.family),
                            t.name
                        ));
                        nf.tables.push(t);
                        continue;
                    }
                }
                // Tables of other families are named as unmodeled by the nft reader already.
                if matches!(t.family, FwFamily::Other | FwFamily::Netdev) || !xt {
                    nf.tables.push(t);
                    continue;
                }
                let fam = family_word(t.family);
                let ipt = match save {
                    Some((_, file, Ok(s))) if s.incompatible.contains(&t.name) => {
                        format!("iptables-nft-save marks it incompatible ({file})")
                    }
                    Some((_, file, Ok(s))) if s.complete_tables().any(|c| c.name == t.name) => format!(
                        "iptables-nft-save ({file}) leaves out what it cannot translate of the rules written with nft there"
                    ),
                    Some((_, file, Ok(_))) => format!("iptables-nft-save could not show all of it ({file})"),
                    Some((_, file, Err(why))) => format!("iptables-nft-save was not read ({file}: {why})"),
                    None => "no iptables-nft-save reads this family".to_string(),
                };
                nf.unmodeled.push(format!(
                    "table {fam} {name} is read in full by neither tool: nft lists iptables extensions (xt) in it that it cannot show, and {ipt}; its rules are not evaluated — read them with `{}`",
                    nft::list_table(fam, &t.name),
                    name = t.name
                ));
                if t.name == "nat" || t.chains.iter().any(|c| c.base.as_ref().is_some_and(|b| b.kind == ChainKind::Nat))
                {
                    nf.unread_nat.push((t.family, format!("table {fam} {} (read in full by neither tool)", t.name)));
                }
                unread.push((t.family, t.name));
            }
            nf.sets.extend(rs.nf.sets);
            nf.unmodeled.extend(rs.nf.unmodeled);
            nf.unmodeled.extend(rs.unplaced.into_iter().map(|u| format!("{u}; the walk cannot use it")));
            true
        }
        Knowledge::Unavailable(m) => {
            if raw.sources.contains_key(files::NFT_RULESET) {
                missing.push(m);
            }
            false
        }
    };
    // Tables iptables-nft marks incompatible (native nftables tables by an iptables name) that
    // nft's listing did not give: nobody read them.
    for (family, file, save) in &nft_saves {
        let Ok(save) = save else { continue };
        for name in &save.incompatible {
            let read_natively =
                nf.tables.iter().any(|t| t.backend == Backend::Nftables && t.family == *family && t.name == *name);
            if !read_natively && !unread.contains(&(*family, name.clone())) {
                let fam = family_word(*family);
                let listing = if nft_read { "nft's listing does not hold it" } else { "nft's listing was not read" };
                nf.unmodeled.push(format!(
                    "table {fam} {name} is a native nftables table that iptables-nft-save cannot show ({file}), and {listing}: its rules are not evaluated — read them with `{}`",
                    nft::list_table(fam, name)
                ));
                // Nobody saw its chains: any of them may be a nat chain, whatever the table's name.
                nf.unread_nat.push((*family, format!("table {fam} {name} (a native nftables table: {listing})")));
            }
        }
    }
    if let Knowledge::Known(sets) = parse_source(raw, files::IPSET, ipset::parse_ipset_save)? {
        nf.sets.extend(sets);
    }
    // A listing that hung says nothing about what it would have listed: every verdict it could
    // change is unknown, naming the tool and the timeout.
    for name in [
        files::IPTABLES_NFT,
        files::IP6TABLES_NFT,
        files::IPTABLES_LEGACY,
        files::IP6TABLES_LEGACY,
        files::NFT_RULESET,
        files::IPSET,
    ] {
        if let Some(s) = raw.sources.get(name).filter(|s| s.outcome == Outcome::TimedOut) {
            let family = match name {
                files::IPTABLES_NFT | files::IPTABLES_LEGACY => Some(FwFamily::Ip),
                files::IP6TABLES_NFT | files::IP6TABLES_LEGACY => Some(FwFamily::Ip6),
                files::NFT_RULESET => Some(FwFamily::Inet),
                _ => None, // sets only refine matches: the nat tables themselves were read
            };
            if let Some(family) = family {
                nf.unread_nat.push((family, format!("every table {name} would have listed (it timed out)")));
            }
            nf.unmodeled.push(format!(
                "{name} not read: {} (the listing was stopped: run it by hand to see why it hangs, or allow it longer with PORTDOCTOR_TOOL_TIMEOUT=SECONDS)",
                crate::one_line(s.stderr.trim(), 200)
            ));
        }
    }
    if !read_any {
        return Ok(Knowledge::Unavailable(missing.into_iter().next().unwrap_or_else(|| {
            Missing::new(
                "firewall rules",
                "no iptables or nft output in the evidence",
                "collect it live as root, or take a snapshot with `portdoctor snapshot host`",
            )
        })));
    }
    for m in missing {
        notes.push(m.describe());
    }
    ingress_devices(raw, &mut nf)?;
    Ok(Knowledge::Known(nf))
}

/// Gives each ingress chain whose listing did not name its devices the ones `nft list chains`
/// names. One still without devices is evaluated as applying to an interface portdoctor cannot
/// tell (unknown, never passed).
fn ingress_devices(raw: &RawHost, nf: &mut Netfilter) -> Result<(), ParseError> {
    nf.devices_from = source_ref(raw, files::NFT_CHAINS);
    let needs = nf.tables.iter().flat_map(|t| &t.chains).any(|c| {
        c.base.as_ref().is_some_and(|b| b.hook == portdoctor_model::firewall::Hook::Ingress && b.devices.is_empty())
    });
    if !needs {
        return Ok(());
    }
    let Ok(bytes) = source(raw, files::NFT_CHAINS) else { return Ok(()) };
    let listed = nft::ingress_devices(text(files::NFT_CHAINS, bytes)?);
    for t in nf.tables.iter_mut().filter(|t| t.backend == Backend::Nftables) {
        let fam = family_word(t.family);
        for c in t.chains.iter_mut() {
            let Some(b) = c.base.as_mut().filter(|b| b.devices.is_empty()) else { continue };
            if let Some((.., devs)) = listed.iter().find(|(f, tn, cn, _)| f == fam && *tn == t.name && *cn == c.name) {
                b.devices = devs.clone();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(content: &str) -> RawSource {
        RawSource {
            command: "cmd".into(),
            outcome: Outcome::Ok,
            exit: Some(0),
            stderr: String::new(),
            content: content.as_bytes().to_vec(),
        }
    }

    #[test]
    fn outcome_words_are_the_manifests() {
        let all = [Outcome::Ok, Outcome::ToolMissing, Outcome::PermissionDenied, Outcome::Failed, Outcome::TimedOut];
        for outcome in all {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }

    #[test]
    fn missing_tool_and_absent_file_are_unknown_with_remedy() {
        let mut raw = RawHost::default();
        raw.sources.insert(
            files::IP_ADDR.into(),
            RawSource {
                command: "ip -j addr show".into(),
                outcome: Outcome::ToolMissing,
                exit: None,
                stderr: String::new(),
                content: vec![],
            },
        );
        raw.sources.insert(files::SYSCTL.into(), ok("net.ipv4.ip_forward = 0\n"));
        let ev = parse_host(&raw).unwrap();
        let m = ev.interfaces.missing().unwrap();
        assert!(m.remedy.contains("iproute2"), "{m:?}");
        assert!(ev.sockets.missing().unwrap().reason.contains("sockets.json is not in the evidence"));
        assert_eq!(ev.conntrack.fact, Knowledge::Known(Conntrack::NotLoaded));
    }

    /// Legacy tables that are loaded but not read: the entry says so and how to read them (no
    /// `nft list table` built from a sentence), and a denied listing names the capability.
    #[test]
    fn unread_legacy_tables_and_denied_listings_say_what_is_missing() {
        let mut raw = RawHost::default();
        raw.sources.insert(files::IPTABLES_NFT.into(), ok("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"));
        raw.sources.insert(files::IP_TABLES_NAMES.into(), ok("filter\n"));
        let denied = |stderr: &str| RawSource {
            command: "iptables-legacy-save".into(),
            outcome: Outcome::PermissionDenied,
            exit: Some(1),
            stderr: stderr.into(),
            content: vec![],
        };
        raw.sources.insert(files::IPTABLES_LEGACY.into(), denied("Permission denied (you must be root)"));
        let ev = parse_host(&raw).unwrap();
        let nf = ev.netfilter.known().unwrap();
        assert_eq!(nf.unmodeled.len(), 1, "{:?}", nf.unmodeled);
        let u = &nf.unmodeled[0];
        assert!(u.contains("`iptables-legacy-save`") && !u.contains("nft list"), "{u}");
        assert!(
            ev.notes.iter().any(|n| n.contains("run portdoctor as root (sudo); it needs CAP_NET_ADMIN")),
            "{:?}",
            ev.notes
        );
        // Root without the capability (the collector's note): the capability, not sudo.
        let note = crate::privilege::root_without(&[Cap::NetAdmin]);
        raw.sources.insert(files::IPTABLES_LEGACY.into(), denied(&format!("Permission denied ({note})")));
        let ev = parse_host(&raw).unwrap();
        let n = ev.notes.iter().find(|n| n.contains("iptables-legacy-save")).unwrap();
        assert!(n.contains("give portdoctor CAP_NET_ADMIN") && !n.contains("sudo"), "{n}");
    }

    /// The sources newer snapshots hold: absent is "not collected" (`None`), a failed listing
    /// is unknown with its remedy, a good one is read.
    #[test]
    fn sources_below_netfilter_absent_failed_and_read() {
        let mut raw = RawHost::default();
        let ev = parse_host(&raw).unwrap();
        assert_eq!((ev.tc_ingress.fact, ev.xfrm.fact), (None, None));
        raw.sources.insert(
            files::XFRM_POLICY.into(),
            RawSource {
                command: "ip xfrm policy".into(),
                outcome: Outcome::PermissionDenied,
                exit: Some(2),
                stderr: "RTNETLINK answers: Operation not permitted".into(),
                content: vec![],
            },
        );
        raw.sources.insert(files::TC_INGRESS.into(), ok(r#"{"qdiscs":[],"filters":{}}"#));
        let ev = parse_host(&raw).unwrap();
        assert!(ev.xfrm.fact.unwrap().missing().unwrap().remedy.contains("CAP_NET_ADMIN"));
        assert_eq!(ev.tc_ingress.fact, Some(Knowledge::Known(Default::default())));
        raw.sources.insert(
            files::XFRM_POLICY.into(),
            ok("src 0.0.0.0/0 dst 10.0.1.10/32 proto tcp dport 80 \n\tdir in action block priority 0 ptype main \n"),
        );
        raw.sources
            .insert(files::XFRM_DEFAULT.into(), ok("Default policies:\n in:  accept\n fwd: accept\n out: block\n"));
        let x = parse_host(&raw).unwrap().xfrm.fact.unwrap().known().unwrap().clone();
        assert_eq!(x.policies.len(), 1);
        assert_eq!(x.default_block, Some(vec![portdoctor_model::host::XfrmDir::Out]));
    }

    #[test]
    fn conntrack_from_sysctl_and_stat() {
        let mut raw = RawHost::default();
        raw.sources.insert(
            files::SYSCTL.into(),
            ok("net.netfilter.nf_conntrack_count = 262144\nnet.netfilter.nf_conntrack_max = 262144\n"),
        );
        raw.sources.insert(
            files::CONNTRACK_STAT.into(),
            ok("entries drop early_drop insert_failed\n00000001 00000010 00000000 00000000\n"),
        );
        let ev = parse_host(&raw).unwrap();
        assert_eq!(
            ev.conntrack.fact,
            Knowledge::Known(Conntrack::Loaded {
                count: 262144,
                max: 262144,
                drop: Some(16),
                early_drop: Some(0),
                insert_failed: Some(0),
                stats_from: EvidenceSource { name: files::CONNTRACK_STAT.into(), obtained_by: "cmd".into() },
            })
        );
    }

    /// Each fact names the source it was read from: the registry's name, and how the evidence
    /// says it was obtained; a source the evidence does not hold is still named (its absence is
    /// the fact's reason).
    #[test]
    fn facts_carry_their_source() {
        let mut raw = RawHost::default();
        raw.sources
            .insert(files::IP_ROUTE.into(), RawSource { command: "ip -j -4 route show table all".into(), ..ok("[]") });
        raw.sources.insert(files::IP6_ROUTE.into(), ok("[]"));
        let ev = parse_host(&raw).unwrap();
        assert_eq!(ev.routes.from.name, files::IP_ROUTE);
        assert_eq!(ev.routes.from.obtained_by, "ip -j -4 route show table all");
        assert_eq!(ev.routes.known(), Some(&vec![]));
        assert_eq!((ev.sysctl.from.name.as_str(), ev.sysctl.from.obtained_by.as_str()), (files::SYSCTL, ""));
        assert_eq!(ev.conntrack.from, ev.sysctl.from);
        assert_eq!(ev.xfrm.from.name, files::XFRM_POLICY);
    }

    #[test]
    fn a_listing_that_timed_out_is_named_not_taken_as_empty() {
        let mut raw = RawHost::default();
        raw.sources.insert(files::NFT_RULESET.into(), ok(r#"{"nftables": []}"#));
        raw.sources.insert(
            files::IPTABLES_NFT.into(),
            RawSource {
                command: "iptables-nft-save".into(),
                outcome: Outcome::TimedOut,
                exit: None,
                stderr: "`iptables-nft-save` did not finish within 30 s (stopped)".into(),
                content: vec![],
            },
        );
        let ev = parse_host(&raw).unwrap();
        let nf = ev.netfilter.known().unwrap();
        assert!(nf.unmodeled.iter().any(|u| u.contains("iptables-nft-save") && u.contains("30 s")), "{nf:?}");
    }

    #[test]
    fn a_malformed_source_is_an_error_naming_it() {
        let mut raw = RawHost::default();
        raw.sources.insert(files::NETSTAT.into(), ok("TcpExt: A\n"));
        assert_eq!(parse_host(&raw).unwrap_err().file, files::NETSTAT);
    }

    /// `table ip filter` as nft lists it: a rule written with nft (`tcp dport 22 accept`), and
    /// with `xt` one written by iptables-nft (which counts every rule).
    fn nft_filter(xt: bool) -> String {
        let ipt = r#",{"rule":{"family":"ip","table":"filter","chain":"input","expr":[{"xt":{"type":"match","name":"conntrack"}},{"counter":{"packets":0,"bytes":0}},{"accept":null}]}}"#;
        format!(
            r#"{{"nftables":[{{"table":{{"family":"ip","name":"filter"}}}},
            {{"chain":{{"family":"ip","table":"filter","name":"input","hook":"input","prio":0,"policy":"drop"}}}},
            {{"rule":{{"family":"ip","table":"filter","chain":"input","expr":[{{"match":{{"op":"==","left":{{"payload":{{"protocol":"tcp","field":"dport"}}}},"right":22}}}},{{"accept":null}}]}}}}{}]}}"#,
            if xt { ipt } else { "" }
        )
    }

    /// The same table as iptables-nft writes it: every rule counted, an x_tables match.
    const IPT_FILTER: &str = r#"{"nftables":[{"table":{"family":"ip","name":"filter"}},
        {"chain":{"family":"ip","table":"filter","name":"INPUT","hook":"input","prio":0,"policy":"drop"}},
        {"rule":{"family":"ip","table":"filter","chain":"INPUT","expr":[{"xt":{"type":"match","name":"multiport"}},{"counter":{"packets":0,"bytes":0}},{"accept":null}]}}]}"#;

    const INCOMPATIBLE: &str = "# Table `filter' contains incompatible base-chains, use 'nft' tool to list them.\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

    fn netfilter(sources: &[(&str, &str)]) -> Netfilter {
        let mut raw = RawHost::default();
        for (name, content) in sources {
            raw.sources.insert(name.to_string(), ok(content));
        }
        parse_netfilter(&raw, &mut vec![]).unwrap().known().unwrap().clone()
    }

    fn tables(nf: &Netfilter) -> Vec<(Backend, &str)> {
        nf.tables.iter().map(|t| (t.backend, t.name.as_str())).collect()
    }

    #[test]
    fn each_table_is_read_by_the_one_reader_that_sees_all_of_it() {
        // nftables.conf's `table ip filter`: iptables-nft-save shows an empty stand-in, nft the rules.
        let nf = netfilter(&[(files::IPTABLES_NFT, INCOMPATIBLE), (files::NFT_RULESET, &nft_filter(false))]);
        assert_eq!(tables(&nf), [(Backend::Nftables, "filter")]);
        assert!(nf.unmodeled.is_empty(), "{:?}", nf.unmodeled);
        // Not collected at all: nft reads it.
        let nf = netfilter(&[(files::NFT_RULESET, &nft_filter(false))]);
        assert_eq!(tables(&nf), [(Backend::Nftables, "filter")]);
        // iptables-nft's own table: read from the save, not from nft's untranslatable listing.
        let save = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n";
        let nf = netfilter(&[(files::IPTABLES_NFT, save), (files::NFT_RULESET, IPT_FILTER)]);
        assert_eq!(tables(&nf), [(Backend::IptablesNft, "filter")]);
        assert!(nf.unmodeled.is_empty(), "{:?}", nf.unmodeled);
        // Written with nft, with iptables' names: iptables-nft-save shows it as its own, but
        // leaves out what it cannot translate (`tcp dport { 80, 443 }` became `-p tcp`).
        let lossy = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n";
        let mut raw = RawHost::default();
        raw.sources.insert(files::IPTABLES_NFT.into(), ok(lossy));
        raw.sources.insert(files::NFT_RULESET.into(), ok(&nft_filter(false)));
        let mut notes = vec![];
        let nf = parse_netfilter(&raw, &mut notes).unwrap().known().unwrap().clone();
        assert_eq!(tables(&nf), [(Backend::Nftables, "filter")]);
        assert!(notes[0].contains("written with nft"), "{notes:?}");
        // Both kinds of rule in one table: neither tool shows all of it.
        let nf = netfilter(&[(files::IPTABLES_NFT, lossy), (files::NFT_RULESET, &nft_filter(true))]);
        assert!(nf.tables.is_empty(), "{:?}", tables(&nf));
        assert!(nf.unmodeled[0].contains("leaves out what it cannot translate"), "{:?}", nf.unmodeled);
    }

    #[test]
    fn a_table_nobody_reads_in_full_is_named_never_empty() {
        // iptables rules and a native chain in one table: iptables-nft-save marks it
        // incompatible, nft cannot show the iptables rules.
        let nf = netfilter(&[(files::IPTABLES_NFT, INCOMPATIBLE), (files::NFT_RULESET, &nft_filter(true))]);
        assert!(nf.tables.is_empty(), "{:?}", tables(&nf));
        assert_eq!(nf.unmodeled.len(), 1, "{:?}", nf.unmodeled);
        assert!(nf.unmodeled[0].starts_with("table ip filter is read in full by neither tool"), "{:?}", nf.unmodeled);
        assert!(
            nf.unmodeled[0].contains("marks it incompatible") && nf.unmodeled[0].contains("`nft list table ip filter`")
        );
        // The save was not collected: the same, saying so.
        let nf = netfilter(&[(files::NFT_RULESET, &nft_filter(true))]);
        assert!(nf.unmodeled[0].contains("iptables-nft-save was not read"), "{:?}", nf.unmodeled);
        // iptables ≤ 1.8.8 marks the table and prints nothing of it; nft was not read.
        let nf = netfilter(&[(files::IPTABLES_NFT, "# Table `nat' is incompatible, use 'nft' tool.\n")]);
        assert_eq!(nf.unmodeled.len(), 1, "{:?}", nf.unmodeled);
        assert!(nf.unmodeled[0].starts_with("table ip nat is a native nftables table"), "{:?}", nf.unmodeled);
        assert!(nf.unmodeled[0].contains("nft's listing was not read"));
        // A line of the save that cannot be placed: the table is named, not half-read.
        let nf = netfilter(&[(files::IPTABLES_NFT, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUX -j DROP\nCOMMIT\n")]);
        assert!(nf.tables.is_empty());
        assert!(nf.unmodeled[0].contains("table filter could not be read in full"), "{:?}", nf.unmodeled);
    }

    /// Every way a nat table goes unread is named with its family (a DNAT there would make
    /// "nothing listens" wrong); a filter table read in full, or one unread, is not.
    #[test]
    fn unread_nat_tables_are_named_by_family() {
        let fams = |nf: &Netfilter| nf.unread_nat.iter().map(|(f, _)| *f).collect::<Vec<_>>();
        assert_eq!(
            fams(&netfilter(&[(files::IPTABLES_NFT, INCOMPATIBLE), (files::NFT_RULESET, &nft_filter(true))])),
            []
        );
        // A rule the parser cannot read, in the nat table.
        let bad = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTINX -j REDIRECT --to-ports 9090\nCOMMIT\n";
        let nf = netfilter(&[(files::IP6TABLES_NFT, bad)]);
        assert_eq!(fams(&nf), [FwFamily::Ip6]);
        assert!(nf.unread_nat[0].1.contains("table nat (ip6tables-nft.txt: line 3"), "{:?}", nf.unread_nat);
        // Native, incompatible, and nft was not read: its chains are unknown, whatever its name.
        let nf = netfilter(&[(files::IPTABLES_NFT, INCOMPATIBLE)]);
        assert_eq!(fams(&nf), [FwFamily::Ip]);
        assert!(nf.unread_nat[0].1.starts_with("table ip filter (a native nftables table"), "{:?}", nf.unread_nat);
        // iptables rules and a native chain in table ip nat: neither tool reads it.
        let mixed = nft_filter(true).replace("\"filter\"", "\"nat\"");
        let nf = netfilter(&[
            (files::IPTABLES_NFT, "# Table `nat' is incompatible, use 'nft' tool.\n"),
            (files::NFT_RULESET, &mixed),
        ]);
        assert_eq!(nf.unread_nat, [(FwFamily::Ip, "table ip nat (read in full by neither tool)".to_string())]);
        // Loaded legacy nat, not read.
        let nf = netfilter(&[(files::IPTABLES_NFT, ""), (files::IP_TABLES_NAMES, "filter\nnat\n")]);
        assert_eq!(fams(&nf), [FwFamily::Ip]);
        assert!(netfilter(&[(files::IPTABLES_NFT, ""), (files::IP_TABLES_NAMES, "filter\n")]).unread_nat.is_empty());
        // A listing that hung: every table it would have listed, of its family.
        let mut raw = RawHost::default();
        raw.sources.insert(files::IPTABLES_NFT.into(), ok("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"));
        let hung = RawSource {
            command: "nft -j list ruleset".into(),
            outcome: Outcome::TimedOut,
            exit: None,
            stderr: "`nft -j list ruleset` did not finish within 30 s (stopped)".into(),
            content: vec![],
        };
        raw.sources.insert(files::NFT_RULESET.into(), hung);
        let nf = parse_netfilter(&raw, &mut vec![]).unwrap().known().unwrap().clone();
        assert_eq!(fams(&nf), [FwFamily::Inet]);
    }

    #[test]
    fn loaded_legacy_tables_that_were_not_read_say_so_plainly() {
        let nf = netfilter(&[(files::IPTABLES_NFT, ""), (files::IP_TABLES_NAMES, "filter\nnat\n")]);
        assert_eq!(
            nf.unmodeled,
            [
                "iptables-legacy tables are loaded (proc-net-ip_tables_names.txt lists filter, nat) but their rules were not read (iptables-legacy.txt is not in the evidence): run `iptables-legacy-save` as root on the host, or take a new snapshot with this portdoctor"
            ]
        );
    }

    #[test]
    fn manifest_round_trip_and_version_check() {
        let mut raw = RawHost::default();
        raw.sources.insert(
            files::SS.into(),
            RawSource {
                command: "ss -tulpne".into(),
                outcome: Outcome::Failed,
                exit: Some(1),
                stderr: "boom".into(),
                content: vec![],
            },
        );
        let text = write_manifest(&raw, Some("2026-11-26T00:00:00Z".into()));
        assert_eq!(parse_manifest(&text).unwrap(), raw.sources);
        let newer = text.replace("\"version\": 1", "\"version\": 2");
        assert_eq!(parse_manifest(&newer).unwrap_err().field, "version");
    }
}
