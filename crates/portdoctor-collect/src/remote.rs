//! A host read over SSH with plain tools: one fixed shell script (no input from the user ever
//! reaches it) that runs the same commands `snapshot host` runs and frames each output as
//! `@@pd NAME EXIT BYTES` + the bytes, so any output survives the trip. The frames become the
//! same `RawHost` a snapshot folder holds; sockets come from `ss` since sock_diag is ours only
//! when portdoctor itself runs there.

use crate::ssh::shell_quote;
use portdoctor_model::probe::CaptureReport;
use portdoctor_parse::host::{Outcome, RawHost, RawSource, files};

/// (source name, shell command): the one-command and one-file sources of local collection,
/// then those the shell does differently (sysctl, the save commands that may be missing, the
/// conditional ones). Every command is a constant; no user input reaches it.
fn sources() -> Vec<(&'static str, String)> {
    use crate::host::{JOURNAL_WARNINGS, NETSTAT_PATH, SYSTEMCTL_SHOW};
    use portdoctor_parse::host_sources::{commands, host_files};
    let words = |argv: &[&str]| argv.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ");
    let mut out = vec![(files::NETSTAT, format!("cat {NETSTAT_PATH}"))];
    out.extend(commands().map(|(name, argv)| (name, words(argv))));
    out.extend(host_files().map(|(name, path)| (name, format!("cat {path}"))));
    let systemd = |argv: &[&str], absent: u8| {
        format!("if [ -d /run/systemd/system ]; then {}; else exit {absent}; fi", words(argv))
    };
    let fixed: [(&str, String); 16] = [
        (
            files::SYSCTL,
            r"sysctl -a -r '^net\.(ipv4\.(ip_forward|tcp_syncookies|ip_local_port_range|conf\..*\.(rp_filter|forwarding))|ipv6\.(conf\.all\.forwarding|bindv6only)|core\.somaxconn|netfilter\.nf_conntrack_(count|max))$' 2>/dev/null".into(),
        ),
        (files::IPTABLES_NFT, save_command("iptables", true)),
        (files::IP6TABLES_NFT, save_command("ip6tables", true)),
        (files::IP_TABLES_NAMES, "cat /proc/net/ip_tables_names".into()),
        (files::IP6_TABLES_NAMES, "cat /proc/net/ip6_tables_names".into()),
        // Only when legacy tables are loaded: /proc files report size 0, so `[ -s ]` is always
        // false; `grep -q .` reads the names.
        (
            files::IPTABLES_LEGACY,
            format!("if grep -q . /proc/net/ip_tables_names 2>/dev/null; then {}; else exit 200; fi", save_command("iptables", false)),
        ),
        (
            files::IP6TABLES_LEGACY,
            format!("if grep -q . /proc/net/ip6_tables_names 2>/dev/null; then {}; else exit 200; fi", save_command("ip6tables", false)),
        ),
        (files::NFT_RULESET, "nft -j list ruleset".into()),
        // The devices of ingress chains (nft 1.0.6's JSON leaves them out). Local collection
        // asks only when a netdev or inet table exists; a shell would pay a listing to know.
        (files::NFT_CHAINS, "nft list chains".into()),
        (files::TC_INGRESS, TC_INGRESS.into()),
        (files::SYSTEMD_SHOW, systemd(&SYSTEMCTL_SHOW, 127)),
        (files::JOURNAL, systemd(&JOURNAL_WARNINGS, 200)),
        (files::LIBWRAP_PIDS, "grep -l libwrap /proc/[0-9]*/maps 2>/dev/null; true".into()),
        (files::SELINUX_ENFORCE, "cat /sys/fs/selinux/enforce".into()),
        (files::SELINUX_CONFIG, "if [ -e /sys/fs/selinux/enforce ]; then cat /etc/selinux/config; else exit 200; fi".into()),
        (files::SEMANAGE_PORTS, "if [ -e /sys/fs/selinux/enforce ]; then semanage port -l; else exit 200; fi".into()),
    ];
    out.extend(fixed);
    out.push((
        files::AUDIT_AVC,
        "if [ -e /sys/fs/selinux/enforce ]; then grep 'avc:' /var/log/audit/audit.log | tail -n 1000; else exit 200; fi".into(),
    ));
    out
}

/// The tc ingress document local collection builds (`host::tc_ingress`), in shell: the qdiscs,
/// then the ingress filters of each interface with an ingress or clsact qdisc, keyed by name (an
/// interface name never holds a quote or a backslash in practice; one that did would make the
/// document fail to parse, named, rather than be misread).
const TC_INGRESS: &str = r#"q=$(tc -j qdisc show) || exit $?; printf '{"qdiscs":%s,"filters":{' "$q"; sep=; for d in $(tc qdisc show | awk '$2=="ingress"||$2=="clsact"{for(i=3;i<NF;i++) if($i=="dev") print $(i+1)}'); do f=$(tc -j filter show dev "$d" ingress) || exit $?; [ -n "$f" ] || f='[]'; printf '%s"%s":%s' "$sep" "$d" "$f"; sep=,; done; printf '}}
'"#;

/// The save command of one iptables backend, as local collection picks it: `TOOL-nft-save` /
/// `TOOL-legacy-save`, else plain `TOOL-save` when `TOOL --version` says it is that backend
/// (`(nf_tables)`; `(legacy)`, or nothing before 1.8: Amazon Linux 2, CentOS 7). Else nf_tables
/// does not apply (exit 200: no tool drives it here) and legacy runs the missing tool (exit 127:
/// its tables are loaded, so the missing tool is the remedy).
fn save_command(tool: &str, nft: bool) -> String {
    if nft {
        format!(
            "if command -v {tool}-nft-save >/dev/null; then {tool}-nft-save; elif {tool} --version 2>/dev/null | grep -q nf_tables; then {tool}-save; elif command -v {tool} >/dev/null; then exit 200; else {tool}-nft-save; fi"
        )
    } else {
        format!(
            "if command -v {tool}-legacy-save >/dev/null; then {tool}-legacy-save; elif command -v {tool} >/dev/null && ! {tool} --version 2>/dev/null | grep -q nf_tables; then {tool}-save; else {tool}-legacy-save; fi"
        )
    }
}

/// The script: a framing function, every source, a pause, then the counters again. A command's
/// stderr is kept only when it fails (then it is the reason), so warnings never pollute output.
pub fn script() -> String {
    // Each command under coreutils' `timeout` where the host has it (exit 124: stopped), so one
    // stuck tool there costs one tool timeout, like here.
    let mut s = format!("PD_T={}\n", crate::child::secs(crate::child::tool_timeout()));
    s += "export LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"\n\
         T=; if command -v timeout >/dev/null 2>&1; then T=\"timeout -k 2 $PD_T\"; fi\n\
         pd() { n=$1; out=$($T sh -c \"$2\" 2>/dev/null); rc=$?; if [ $rc -eq 124 ] && [ -n \"$T\" ]; then out=\"did not finish within $PD_T s (stopped)\"; elif [ $rc -ne 0 ]; then out=$($T sh -c \"$2\" 2>&1 >/dev/null); fi; printf '@@pd %s %s %s\\n' \"$n\" \"$rc\" \"$(printf %s \"$out\" | wc -c)\"; printf '%s\\n' \"$out\"; }\n";
    for (name, cmd) in sources() {
        s += &format!("pd {name} '{}'\n", cmd.replace('\'', r"'\''"));
    }
    // Every other network namespace (lowest pid of each), and inside each what local collection
    // reads there. Pids come from /proc's own names, digits only.
    s += &format!("pd {NETNS_PROCS} '{OTHER_NETNS}'\n");
    s += &format!("for pid in $(sh -c '{OTHER_NETNS}' | sort -k1,1 -k2,2n | awk '!seen[$1]++ {{print $2}}'); do\n");
    for (base, argv) in crate::host::NETNS_COMMANDS {
        let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
        s += &format!("  pd \"netns-pid-$pid-{base}\" \"nsenter -t $pid -n -- {}\"\n", words.join(" "));
    }
    s += "done\n";
    s += &format!("sleep 0.2\npd {} 'cat {}'\n", files::NETSTAT_LATER, crate::host::NETSTAT_PATH);
    s
}

/// The plain-tools list of other namespaces: `net:[INODE] PID COMM` per process.
const NETNS_PROCS: &str = "netns-procs.txt";
const OTHER_NETNS: &str = "own=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do n=$(readlink $p/ns/net 2>/dev/null) || continue; [ \"$n\" = \"$own\" ] || echo \"$n ${p#/proc/} $(cat $p/comm 2>/dev/null)\"; done";

/// Splits the script's output into sources. `as_root`: whether it ran under sudo.
pub fn read_frames(out: &[u8]) -> RawHost {
    let commands = sources();
    let mut raw = RawHost::default();
    let mut i = 0;
    while let Some(pos) = out[i..].windows(4).position(|w| w == b"@@pd") {
        let start = i + pos;
        let Some(eol) = out[start..].iter().position(|b| *b == b'\n').map(|e| start + e) else { break };
        let head = String::from_utf8_lossy(&out[start..eol]).into_owned();
        let f: Vec<&str> = head.split_whitespace().collect();
        let (Some(name), Some(rc), Some(len)) =
            (f.get(1), f.get(2).and_then(|x| x.parse::<i32>().ok()), f.get(3).and_then(|x| x.parse::<usize>().ok()))
        else {
            i = eol;
            continue;
        };
        // A length past the end (a cut-off stream, or a lie) takes what is there.
        let end = (eol + 1).saturating_add(len).min(out.len());
        let body = out[(eol + 1).min(end)..end].to_vec();
        i = end;
        if rc == 200 {
            continue; // a source that does not apply here (legacy tables not loaded)
        }
        // Not in the table: what was read inside a namespace, and the second counter sample.
        let command = match name.strip_prefix("netns-pid-").and_then(|r| r.split_once('-')) {
            Some((pid, base)) => format!("nsenter -t {pid} -n -- (the {base} command)"),
            // A shell loop: named as local collection names it, not by its script.
            None if name == &files::TC_INGRESS => crate::host::TC_INGRESS_COMMAND.to_string(),
            None => commands
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| format!("cat {}", crate::host::NETSTAT_PATH)),
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        let src = match rc {
            0 => RawSource { command, outcome: Outcome::Ok, exit: Some(0), stderr: String::new(), content: body },
            124 if text.starts_with("did not finish within") => {
                let stderr = format!("`{command}` {}", text.trim());
                RawSource { command, outcome: Outcome::TimedOut, exit: Some(rc), stderr, content: vec![] }
            }
            // Not installed, or (for `cat`) no such file: both mean "this host does not have it".
            _ if rc == 127 || text.contains("No such file or directory") => {
                RawSource { command, outcome: Outcome::ToolMissing, exit: Some(rc), stderr: text, content: vec![] }
            }
            _ if text.contains("Permission denied")
                || text.contains("Operation not permitted")
                || text.contains("you must be root") =>
            {
                RawSource { command, outcome: Outcome::PermissionDenied, exit: Some(rc), stderr: text, content: vec![] }
            }
            _ => RawSource { command, outcome: Outcome::Failed, exit: Some(rc), stderr: text, content: vec![] },
        };
        raw.sources.insert(name.to_string(), src);
    }
    raw
}

/// Turns plain-tool output into what the host parser reads: sockets from `ss`, and nft's tables
/// less the big ones iptables-nft shows in full (read from the save output, as locally).
pub fn normalise(raw: &mut RawHost, as_root: bool, notes: &mut Vec<String>) {
    let ip_addr =
        raw.sources.get(files::IP_ADDR).map(|s| String::from_utf8_lossy(&s.content).into_owned()).unwrap_or_default();
    if let Some(ss) = raw.sources.get(files::SS).cloned() {
        let src = if ss.outcome == Outcome::Ok {
            let idx = portdoctor_parse::ss::ifindexes(&ip_addr);
            match portdoctor_parse::ss::parse_ss(files::SS, &String::from_utf8_lossy(&ss.content), &idx, as_root, notes)
            {
                Ok(sockets) => RawSource {
                    command: "ss -H -tulpne (converted)".into(),
                    content: portdoctor_parse::sockets::write_sockets(&sockets).into_bytes(),
                    ..ss
                },
                Err(e) => RawSource { outcome: Outcome::Failed, stderr: e.to_string(), content: vec![], ..ss },
            }
        } else {
            ss
        };
        raw.sources.insert(files::SOCKETS.into(), src);
    }
    pair_namespaces(raw);
    let owned = crate::host::iptables_nft_tables(raw);
    if let Some(nft) = raw.sources.get_mut(files::NFT_RULESET).filter(|s| s.outcome == Outcome::Ok)
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&nft.content)
        && let Some(items) = v.get_mut("nftables").and_then(|x| x.as_array_mut())
    {
        let table_of = |i: &serde_json::Value| -> Option<(String, String)> {
            let obj = i.as_object()?.values().next()?;
            let fam = obj.get("family")?.as_str()?.to_string();
            let name = obj.get("table").or(obj.get("name"))?.as_str()?.to_string();
            Some((fam, name))
        };
        items.retain(|i| i.get("metainfo").is_some() || table_of(i).is_none_or(|t| !owned.contains(&t)));
        nft.content = v.to_string().into_bytes();
    }
}

/// Names the namespaces read by pid (`netns-pid-PID-…`) by the id this host gives them, as
/// local collection does with RTM_GETNSID: a namespace whose veth end points back at one of the
/// host's veth ends (its ifindex is that end's `link_index`, its `link_index` that end's ifindex)
/// gets that end's `link_netnsid`. Namespaces paired with nothing here are left out.
fn pair_namespaces(raw: &mut RawHost) {
    let Some(procs) = raw.sources.get(NETNS_PROCS).cloned() else { return };
    let host_ifs = raw
        .sources
        .get(files::IP_ADDR)
        .and_then(|s| portdoctor_parse::iproute::parse_addr(files::IP_ADDR, &String::from_utf8_lossy(&s.content)).ok())
        .unwrap_or_default();
    let mut by_ns: std::collections::BTreeMap<String, Vec<portdoctor_model::host::Process>> = Default::default();
    for line in String::from_utf8_lossy(&procs.content).lines() {
        let mut f = line.split_whitespace();
        if let (Some(ns), Some(pid)) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok())) {
            let name = f.next().unwrap_or_default().to_string();
            by_ns.entry(ns.to_string()).or_default().push(portdoctor_model::host::Process { pid, name });
        }
    }
    let mut entries = Vec::new();
    let mut denied = None;
    for mut processes in by_ns.into_values() {
        processes.sort_by_key(|p| p.pid);
        let pid = processes[0].pid;
        let addr_name = format!("netns-pid-{pid}-{}", files::IP_ADDR);
        let Some(addr) = raw.sources.remove(&addr_name) else { continue };
        let ss = raw.sources.remove(&format!("netns-pid-{pid}-{}", files::SS));
        if addr.outcome != Outcome::Ok {
            denied.get_or_insert(addr);
            continue;
        }
        let inner = portdoctor_parse::iproute::parse_addr(&addr_name, &String::from_utf8_lossy(&addr.content))
            .unwrap_or_default();
        let nsid = inner.iter().find_map(|i| {
            let (_, link_index) = i.peer?;
            host_ifs.iter().find(|h| h.index == link_index && h.peer.map(|p| p.1) == Some(i.index))?.peer.map(|p| p.0)
        });
        let Some(nsid) = nsid else { continue };
        raw.sources.insert(files::netns_file(nsid, files::IP_ADDR), addr);
        if let Some(ss) = ss {
            raw.sources.insert(files::netns_file(nsid, files::SS), ss);
        }
        processes.truncate(10);
        entries.push(portdoctor_parse::host::NetnsEntry { nsid, pid, processes });
    }
    let src = match denied {
        Some(d) if entries.is_empty() => RawSource { command: "nsenter -t PID -n (each namespace)".into(), ..d },
        _ => RawSource {
            command: format!("{} paired by veth ends with ip-addr.json", procs.command),
            content: serde_json::to_vec_pretty(&entries).unwrap_or_default(),
            ..procs
        },
    };
    raw.sources.insert(files::NETNS.into(), src);
}

/// The host's evidence over SSH: `portdoctor snapshot host --out -` when portdoctor is installed
/// there, else the plain-tools script; under `sudo -n` when allowed, else as the user (then the
/// firewall and socket owners are unknown, and a note says why).
pub fn host_over_ssh(ssh: &crate::ssh::Ssh) -> Result<(RawHost, Vec<String>), portdoctor_model::Missing> {
    use crate::ssh::{privileged, remote_portdoctor, sudo_refused};
    let mut notes = Vec::new();
    let fail = |e: std::io::Error| portdoctor_model::Missing::new("the host over SSH", e.to_string(), "check ssh");
    let installed = remote_portdoctor(ssh);
    let script = script();
    let words: Vec<&str> = match &installed {
        Some(pd) => vec![pd.as_str(), "snapshot", "host", "--out", "-"],
        None => vec!["sh", "-c", script.as_str()],
    };
    let sudo = privileged(ssh, &words);
    // The remote commands each have the tool timeout; the whole read gets a few of them.
    let budget = crate::child::tool_timeout() * 4 + std::time::Duration::from_secs(30);
    let mut out = ssh.run_within(&sudo, budget).map_err(fail)?;
    let mut as_root = out.status.success();
    if !as_root && sudo.first() == Some(&"sudo") && sudo_refused(&String::from_utf8_lossy(&out.stderr)) {
        notes.push(format!(
            "sudo -n was refused on {} ({}): read as the login user, so the firewall and other users' socket owners may be unknown; allow passwordless sudo for portdoctor's read-only commands to see them",
            ssh.target().display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        out = ssh.run_within(&words, budget).map_err(fail)?;
        as_root = false;
    }
    let raw = match &installed {
        Some(pd) => {
            notes.push(format!("host evidence from {pd} on {}", ssh.target().display()));
            portdoctor_parse::host::read_bundle(
                &format!("{} (ssh)", ssh.target().display()),
                &String::from_utf8_lossy(&out.stdout),
            )
            .map_err(|e| {
                portdoctor_model::Missing::new(
                    "the host over SSH",
                    e.to_string(),
                    "update portdoctor on the host to this version",
                )
            })?
        }
        None => {
            notes.push(format!(
                "host evidence from plain tools over SSH on {} (portdoctor is not installed there)",
                ssh.target().display()
            ));
            let mut raw = read_frames(&out.stdout);
            if raw.sources.is_empty() {
                return Err(portdoctor_model::Missing::new(
                    "the host over SSH",
                    format!("the commands did not run: {}", String::from_utf8_lossy(&out.stderr).trim()),
                    "check that the login shell is a POSIX sh",
                ));
            }
            normalise(&mut raw, as_root, &mut notes);
            raw
        }
    };
    Ok((raw, notes))
}

/// A capture running on the host over SSH: `portdoctor capture --pcap` if installed, else
/// `tcpdump -w -`; either way a pcap stream read here as it comes, so the capture can end as soon
/// as the probes have.
pub struct RemoteCapture {
    child: std::process::Child,
    port: u16,
    started: std::time::Instant,
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// When the stream last brought bytes: a capture quiet for a while has nothing in flight.
    last_read: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// The longest a capture is kept running after the probes, for packets still on their way.
const CAPTURE_GRACE: std::time::Duration = std::time::Duration::from_millis(250);
/// How long the capture stream must have been quiet for nothing to be on its way.
const CAPTURE_QUIET: std::time::Duration = std::time::Duration::from_millis(100);

fn capture_missing(reason: String) -> portdoctor_model::Missing {
    portdoctor_model::Missing::new(
        "a capture on the host",
        reason,
        "allow passwordless sudo for tcpdump (or portdoctor capture) for this user, or run `sudo portdoctor capture --port P` on the instance while you probe",
    )
}

/// Starts the capture (at most `seconds` long) and returns once it listens, or says why not.
pub fn start_capture(
    ssh: &crate::ssh::Ssh,
    port: u16,
    seconds: u32,
) -> Result<RemoteCapture, portdoctor_model::Missing> {
    use std::io::{BufRead, Read};
    let (p, s) = (port.to_string(), seconds.to_string());
    let filter = format!("tcp port {port} or udp port {port} or icmp or icmp6");
    let installed = crate::ssh::remote_portdoctor(ssh);
    let words = match &installed {
        Some(pd) => crate::ssh::privileged(ssh, &[pd.as_str(), "capture", "--port", &p, "--duration", &s, "--pcap"]),
        None => crate::ssh::privileged(
            ssh,
            &["timeout", &s, "tcpdump", "-i", "any", "--immediate-mode", "-U", "-n", "-w", "-", &filter],
        ),
    };
    let mut child = ssh.spawn(&words).map_err(|e| capture_missing(format!("cannot run ssh: {e}")))?;
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(err) = child.stderr.take() {
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if line.contains("listening on") || line.contains("capturing on") {
                    let _ = tx.send(());
                }
                if let Ok(mut l) = log.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
    }
    let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let last_read = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
    let reader = child.stdout.take().map(|mut out| {
        let (sink, last) = (bytes.clone(), last_read.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut l) = last.lock() {
                    *l = std::time::Instant::now();
                }
                // Bounded like any evidence: a host that streams without end fills no memory.
                if let Ok(mut b) = sink.lock()
                    && (b.len() as u64) < crate::safe_fs::MAX_FILE_BYTES
                {
                    b.extend_from_slice(&buf[..n]);
                }
            }
        })
    });
    match rx.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(()) => {
            Ok(RemoteCapture { child, port, started: std::time::Instant::now(), bytes, last_read, reader, stderr })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(std::time::Duration::from_millis(50));
            let why = stderr.lock().map(|s| s.trim().to_string()).unwrap_or_default();
            let why = if why.is_empty() { "the capture did not start within 5 s".to_string() } else { why };
            Err(
                if why.contains("tcpdump: not found")
                    || why.contains("tcpdump: command not found")
                    || why.contains("No such file")
                {
                    portdoctor_model::Missing::new(
                        "a capture on the host",
                        why,
                        "install tcpdump on the host (apt install tcpdump / dnf install tcpdump), or portdoctor",
                    )
                } else {
                    capture_missing(why)
                },
            )
        }
    }
}

impl RemoteCapture {
    /// Ends the capture (after a short grace for packets in flight) and reads what it saw. The
    /// grace ends early once the stream has been quiet for `CAPTURE_QUIET` since the probes
    /// ended: what the host captured until then has arrived (tcpdump writes each packet at once,
    /// `-U`), and a probe that timed out sent its last SYN long before.
    pub fn finish(mut self) -> Result<CaptureReport, portdoctor_model::Missing> {
        let probes_ended = std::time::Instant::now();
        let grace_ends = probes_ended + CAPTURE_GRACE;
        loop {
            let read = self.last_read.lock().map(|l| l.elapsed()).unwrap_or_default();
            let quiet = read.min(probes_ended.elapsed());
            let left = grace_ends.saturating_duration_since(std::time::Instant::now());
            if quiet >= CAPTURE_QUIET || left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(CAPTURE_QUIET - quiet));
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let bytes = self.bytes.lock().map(|b| b.clone()).unwrap_or_default();
        let packets = portdoctor_parse::packet::read_pcap("the capture over ssh", &bytes, self.port).map_err(|e| {
            capture_missing(format!("{e}; {}", self.stderr.lock().map(|s| s.trim().to_string()).unwrap_or_default()))
        })?;
        Ok(CaptureReport { iface: "any".into(), port: self.port, seconds, packets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script run here, without SSH: every source frames and the host parser reads them.
    #[test]
    fn script_runs_and_reads_back() {
        let out = std::process::Command::new("sh").arg("-c").arg(script()).output().unwrap();
        let mut raw = read_frames(&out.stdout);
        assert!(raw.sources.len() >= 15, "{:?}", raw.sources.keys());
        assert_eq!(raw.sources[files::HOSTNAME].outcome, Outcome::Ok);
        assert!(raw.sources.contains_key(files::NETSTAT_LATER));
        let mut notes = vec![];
        normalise(&mut raw, true, &mut notes);
        assert!(notes.iter().all(|n| !n.contains("not read")), "stderr kept out of the output: {notes:?}");
        let ev = portdoctor_parse::host::parse_host(&raw).unwrap();
        assert!(ev.sockets.known().is_some(), "{:?}", ev.sockets);
        assert!(ev.interfaces.known().is_some_and(|i| !i.is_empty()));
    }

    /// Every source of the registry is read over SSH too: framed by the script, or made from
    /// what it frames (`sockets.json` from `ss`, `netns.json` from the namespaces' processes).
    #[test]
    fn the_script_reads_every_registered_source() {
        let script = script();
        let made_here = [files::SOCKETS, files::NETNS];
        let missing: Vec<&str> = portdoctor_parse::host_sources::HOST_SOURCES
            .iter()
            .map(|s| s.file)
            .filter(|f| !made_here.contains(f) && !script.contains(&format!("pd {f} '")))
            .collect();
        assert!(missing.is_empty(), "the SSH script does not read {missing:?}");
    }

    /// A remote tool that never returns is stopped by the host's `timeout` and framed as such.
    #[test]
    fn a_stuck_remote_tool_is_stopped_and_framed_as_timed_out() {
        let fake = std::env::temp_dir().join(format!("pd-remote-stuck-{}", std::process::id()));
        std::fs::create_dir_all(&fake).unwrap();
        let ipset = fake.join("ipset");
        std::fs::write(&ipset, "#!/bin/sh\nsleep 600\n").unwrap();
        std::process::Command::new("chmod").arg("755").arg(&ipset).status().unwrap();
        let script = script();
        let first = script.lines().next().unwrap().to_string();
        let script = script.replacen(&first, "PD_T=1", 1);
        let start = std::time::Instant::now();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", fake.display()))
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&fake);
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
        let raw = read_frames(&out.stdout);
        assert_eq!(raw.sources[files::IPSET].outcome, Outcome::TimedOut, "{:?}", raw.sources[files::IPSET]);
    }

    #[test]
    fn frames_survive_odd_content() {
        let mut out =
            b"noise\n@@pd a.txt 0 11\nhello\n@@pd\n\n@@pd b.txt 127 9\nnot found\n@@pd c.txt 200 0\n\n".to_vec();
        out.extend(b"@@pd d.txt 0 99\ncut short");
        let raw = read_frames(&out);
        assert_eq!(raw.sources["a.txt"].content, b"hello\n@@pd\n");
        assert_eq!(raw.sources["b.txt"].outcome, Outcome::ToolMissing);
        assert!(!raw.sources.contains_key("c.txt"));
        assert_eq!(raw.sources["d.txt"].content, b"cut short");
        let raw = read_frames(b"@@pd e.txt 0 18446744073709551615\nall there is");
        assert_eq!(raw.sources["e.txt"].content, b"all there is");
        // A command the host's `timeout` stopped: timed out, naming it, not failed or absent.
        let raw = read_frames(b"@@pd ipset.txt 124 35\ndid not finish within 30 s (stopped)\n");
        let src = &raw.sources["ipset.txt"];
        assert_eq!(src.outcome, Outcome::TimedOut);
        assert!(src.stderr.contains("ipset save") && src.stderr.contains("30 s"), "{}", src.stderr);
    }
}
