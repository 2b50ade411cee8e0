//! A network-namespace testbed: an internet client, a cloud edge that 1:1-NATs a public address
//! onto the instance's private address (as an AWS internet gateway does), and the instance.
//!
//! ```text
//!  client ns                edge ns                              instance ns
//!  eth0 198.51.100.2 ── eth0 198.51.100.1 | eth1 10.0.1.1 ── eth0 10.0.1.10
//!       2001:db8:1::2       2001:db8:1::1 | 2001:db8:2::1        2001:db8:2::10
//!                      DNAT 203.0.113.10 → 10.0.1.10, SNAT back; IPv6 routed untranslated
//! ```
//!
//! Every scenario asks the real kernel first (a connect from the client: open, refused,
//! timeout) and then portdoctor. Namespaces are named per testbed (`pd<pid>x<n>c|e|i`) so tests
//! run in parallel, and are deleted on drop, also when a test fails. Needs root, iproute2,
//! nftables and python3. Only documentation addresses and 10.0.1.0/24 inside the namespaces are
//! used.

pub mod hostile;
pub mod judge;
pub mod rng;

#[cfg(test)]
mod bpf_tests {
    /// The committed objects are what bpf/build.sh makes of the committed IR (where llc is
    /// installed; a machine without LLVM uses them as they are).
    #[test]
    fn committed_bpf_objects_match_their_source() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf");
        let out = std::env::temp_dir().join(format!("pd-bpf-check-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        for (name, committed) in [("xdp_drop", super::XDP_DROP_O), ("tc_drop", super::TC_DROP_O)] {
            let obj = out.join(format!("{name}.o"));
            let status = std::process::Command::new("llc")
                .args(["-march=bpf", "-filetype=obj", "-o"])
                .arg(&obj)
                // Relative, as build.sh gives it: the object records the source's name.
                .arg(format!("{name}.ll"))
                .current_dir(&dir)
                .status();
            match status {
                Ok(s) if s.success() => {
                    assert_eq!(std::fs::read(&obj).unwrap(), committed, "{name}.o is stale: run bpf/build.sh")
                }
                Ok(s) => panic!("llc failed on {name}.ll: {s}"),
                Err(e) => eprintln!("llc not available ({e}): {name}.o used as committed"),
            }
        }
        std::fs::remove_dir_all(&out).ok();
    }
}

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PUBLIC_V4: &str = "203.0.113.10";
pub const PRIVATE_V4: &str = "10.0.1.10";
pub const SECOND_V4: &str = "10.0.1.11";
pub const INSTANCE_V6: &str = "2001:db8:2::10";
pub const CLIENT_V4: &str = "198.51.100.2";
/// A container's address on the instance's Docker-style bridge (docker0, 10.88.0.1/24).
pub const CONTAINER_V4: &str = "10.88.0.2";

/// The project's shared folder (peer suites, design notes): `PORTDOCTOR_SHARED`, else `shared/`
/// beside the workspace (where it is for /work/main; a worktree elsewhere sets the variable).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("PORTDOCTOR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

static IFINDEX_COUNTER: AtomicU32 = AtomicU32::new(0);
static COUNTER: AtomicU32 = AtomicU32::new(0);

const LISTENER_PY: &str = include_str!("listener.py");
/// BPF programs that drop every packet (bpf/build.sh makes them from the .ll next to them).
const XDP_DROP_O: &[u8] = include_bytes!("../bpf/xdp_drop.o");
const TC_DROP_O: &[u8] = include_bytes!("../bpf/tc_drop.o");
const CLIENT_PY: &str = include_str!("client.py");

/// Docker's nat and filter tables for one container publishing 80 as 8080 (Docker 24,
/// iptables-save of the nf_tables backend), with `docker_user` as the DOCKER-USER chain's rules.
pub fn docker_rules(docker_user: &str) -> String {
    format!(
        "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 10.88.0.0/24 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s {CONTAINER_V4}/32 -d {CONTAINER_V4}/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination {CONTAINER_V4}:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d {CONTAINER_V4}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
{docker_user}-A DOCKER-USER -j RETURN
COMMIT
"
    )
}

/// The raw-table guard Docker ≥ 28 adds for each container with a published port: nothing may
/// reach the container's address except through its bridge (iptables-save form; restoring it
/// replaces only the raw table).
pub fn docker_raw_guard() -> String {
    format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -d {CONTAINER_V4}/32 ! -i docker0 -j DROP\nCOMMIT\n"
    )
}

/// What Docker 29's nftables backend (`"firewall-backend": "nftables"`) writes for `docker run
/// -p 8080:80` on docker0 (10.88.0.0/24): the raw guard at priority raw, DNAT from a
/// `fib daddr type local` prerouting chain, and forward chains picked by verdict maps on the
/// interfaces, with the published port admitted and every other port to the container dropped.
pub fn docker_nft_rules() -> String {
    format!(
        r#"table ip docker-bridges {{
	map filter-forward-in-jumps {{
		type ifname : verdict
		elements = {{ "docker0" : jump filter-forward-in__docker0 }}
	}}
	map filter-forward-out-jumps {{
		type ifname : verdict
		elements = {{ "docker0" : jump filter-forward-out__docker0 }}
	}}
	map nat-postrouting-in-jumps {{
		type ifname : verdict
		elements = {{ "docker0" : jump nat-postrouting-in__docker0 }}
	}}
	chain filter-FORWARD {{
		type filter hook forward priority filter; policy accept;
		oifname vmap @filter-forward-out-jumps
		iifname vmap @filter-forward-in-jumps
	}}
	chain nat-OUTPUT {{
		type nat hook output priority -100; policy accept;
		ip daddr != 127.0.0.0/8 fib daddr type local counter jump nat-prerouting-and-output
	}}
	chain nat-POSTROUTING {{
		type nat hook postrouting priority srcnat; policy accept;
		iifname vmap @nat-postrouting-in-jumps
	}}
	chain nat-PREROUTING {{
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local counter jump nat-prerouting-and-output
	}}
	chain nat-prerouting-and-output {{
		iifname != "docker0" tcp dport 8080 counter dnat to {CONTAINER_V4}:80 comment "DNAT"
	}}
	chain raw-PREROUTING {{
		type filter hook prerouting priority raw; policy accept;
		ip daddr {CONTAINER_V4} iifname != "docker0" counter drop comment "DROP DIRECT ACCESS"
	}}
	chain filter-forward-in__docker0 {{
		counter accept comment "ICC"
	}}
	chain filter-forward-out__docker0 {{
		ct state established,related counter accept
		iifname "docker0" counter accept comment "ICC"
		ip daddr {CONTAINER_V4} tcp dport 80 counter accept
		counter drop comment "UNPUBLISHED PORT DROP"
	}}
	chain nat-postrouting-in__docker0 {{
		oifname != "docker0" ip saddr 10.88.0.0/24 counter masquerade comment "MASQUERADE"
	}}
}}
"#
    )
}

/// What the kernel did with a real connect from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    Open,
    Refused,
    Timeout,
    Error(String),
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wire::Open => f.write_str("open"),
            Wire::Refused => f.write_str("refused"),
            Wire::Timeout => f.write_str("timeout"),
            Wire::Error(e) => write!(f, "error {e}"),
        }
    }
}

/// A real listener in the instance namespace.
#[derive(Debug, Clone)]
pub struct Listen {
    pub proto: &'static str,
    pub bind: String,
    pub port: u16,
    pub v6only: Option<bool>,
    pub device: Option<String>,
    pub backlog: u32,
    pub accept: bool,
    /// The process name the listener takes (as `nginx` would show in /proc/PID/comm).
    pub name: Option<String>,
}

impl Listen {
    pub fn tcp(bind: &str, port: u16) -> Listen {
        Listen {
            proto: "tcp",
            bind: bind.into(),
            port,
            v6only: None,
            device: None,
            backlog: 128,
            accept: true,
            name: None,
        }
    }

    pub fn udp(bind: &str, port: u16) -> Listen {
        Listen { proto: "udp", ..Listen::tcp(bind, port) }
    }
}

fn python() -> &'static str {
    // pyenv's shim is a shell script that costs ~100 ms a call and adds a process between us and
    // the interpreter; resolve the real binary once.
    static PY: OnceLock<String> = OnceLock::new();
    PY.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "python3".into())
    })
}

fn check(cmd: &mut Command) -> io::Result<Output> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(out)
}

fn ip(args: &[&str]) -> io::Result<()> {
    check(Command::new("ip").args(args)).map(|_| ())
}

pub struct Testbed {
    pub client: String,
    pub edge: String,
    pub instance: String,
    /// The container namespaces `add_container` made, in order.
    pub containers: Vec<String>,
    scripts: PathBuf,
    children: Vec<Child>,
}

impl Testbed {
    /// Builds the three namespaces and their links. Fails with a clear message without root or
    /// the tools.
    pub fn new() -> io::Result<Testbed> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = format!("pd{}x{n}", std::process::id());
        let scripts = std::env::temp_dir().join(format!("{base}-scripts"));
        std::fs::create_dir_all(&scripts)?;
        std::fs::write(scripts.join("listener.py"), LISTENER_PY)?;
        std::fs::write(scripts.join("xdp_drop.o"), XDP_DROP_O)?;
        std::fs::write(scripts.join("tc_drop.o"), TC_DROP_O)?;
        std::fs::write(scripts.join("client.py"), CLIENT_PY)?;
        let tb = Testbed {
            client: format!("{base}c"),
            edge: format!("{base}e"),
            instance: format!("{base}i"),
            containers: vec![],
            scripts,
            children: vec![],
        };
        // From here on, Drop cleans up whatever was made.
        tb.build()
            .map_err(|e| io::Error::other(format!(
                "testbed setup (needs root, iproute2, nftables, python3: scripts/test, or cargo test --features portdoctor/system-tests as root): {e}"
            )))?;
        Ok(tb)
    }

    fn build(&self) -> io::Result<()> {
        let (c, e, i) = (self.client.as_str(), self.edge.as_str(), self.instance.as_str());
        for ns in [c, e, i] {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            // No duplicate address detection: a tentative link-local address keeps IPv6 from
            // working for the first second or two after the links come up.
            check(Command::new("ip").args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]))?;
        }
        // Forwarding first: turning it on later resets per-interface IPv6 state mid-setup.
        check(Command::new("ip").args([
            "netns",
            "exec",
            e,
            "sysctl",
            "-q",
            "-w",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
        ]))?;
        ip(&["link", "add", "eth0", "netns", c, "type", "veth", "peer", "name", "eth0", "netns", e])?;
        ip(&["link", "add", "eth0", "netns", i, "type", "veth", "peer", "name", "eth1", "netns", e])?;
        let addrs: [(&str, &str, &str); 6] = [
            (c, "eth0", "198.51.100.2/24"),
            (c, "eth0", "2001:db8:1::2/64"),
            (e, "eth0", "198.51.100.1/24"),
            (e, "eth0", "2001:db8:1::1/64"),
            (e, "eth1", "10.0.1.1/24"),
            (e, "eth1", "2001:db8:2::1/64"),
        ];
        for (ns, dev, addr) in addrs {
            let mut args = vec!["-n", ns, "addr", "add", addr, "dev", dev];
            if addr.contains(':') {
                args.push("nodad"); // no 1-2 s of duplicate address detection
            }
            ip(&args)?;
        }
        ip(&["-n", i, "addr", "add", "10.0.1.10/24", "dev", "eth0"])?;
        ip(&["-n", i, "addr", "add", "2001:db8:2::10/64", "dev", "eth0", "nodad"])?;
        for (ns, dev) in [(c, "eth0"), (e, "eth0"), (e, "eth1"), (i, "eth0")] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        ip(&["-n", c, "route", "add", "default", "via", "198.51.100.1"])?;
        ip(&["-n", c, "-6", "route", "add", "default", "via", "2001:db8:1::1"])?;
        ip(&["-n", i, "route", "add", "default", "via", "10.0.1.1"])?;
        ip(&["-n", i, "-6", "route", "add", "default", "via", "2001:db8:2::1"])?;
        self.nft(e, &format!(
            "table ip edge {{\n chain pre {{ type nat hook prerouting priority dstnat; ip daddr {PUBLIC_V4} dnat to {PRIVATE_V4}; }}\n chain post {{ type nat hook postrouting priority srcnat; ip saddr {PRIVATE_V4} oifname \"eth0\" snat to {PUBLIC_V4}; }}\n}}\n"
        ))
    }

    /// Loads an nft ruleset into a namespace (`nft -f -`).
    pub fn nft(&self, ns: &str, ruleset: &str) -> io::Result<()> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().ok_or_else(|| io::Error::other("no stdin"))?.write_all(ruleset.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!("nft -f in {ns}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(())
    }

    /// Replaces the instance's iptables tables that `rules` names (`iptables-restore`, the nf_tables
    /// backend on Debian), or ip6tables' with `v6`.
    pub fn iptables_restore(&self, rules: &str, v6: bool) -> io::Result<()> {
        self.feed(&self.instance, &[if v6 { "ip6tables-restore" } else { "iptables-restore" }], rules)
    }

    /// Loads rules with the legacy (x_tables) backend, which the kernel evaluates beside nf_tables.
    pub fn iptables_legacy_restore(&self, rules: &str) -> io::Result<()> {
        self.feed(&self.instance, &["iptables-legacy-restore"], rules)
    }

    /// Loads ipsets into the instance (`ipset restore`; sets are per network namespace).
    pub fn ipset_restore(&self, sets: &str) -> io::Result<()> {
        self.feed(&self.instance, &["ipset", "restore", "-exist"], sets)
    }

    fn feed(&self, ns: &str, argv: &[&str], input: &str) -> io::Result<()> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().ok_or_else(|| io::Error::other("no stdin"))?.write_all(input.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{argv:?} in {ns}: {}\n{input}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// A second interface on the instance (eth1, 10.0.2.10/24, edge side 10.0.2.1) reached at
    /// the public address 203.0.113.11 — the classic second ENI. The edge drops what an
    /// interface sends from an address that is not its own, as AWS's source/destination check
    /// does, so a reply that leaves by the wrong interface is lost as it would be in a VPC.
    pub fn add_second_nic(&self) -> io::Result<()> {
        let (e, i) = (self.edge.as_str(), self.instance.as_str());
        ip(&["link", "add", "eth1", "netns", i, "type", "veth", "peer", "name", "eth2", "netns", e])?;
        ip(&["-n", i, "addr", "add", "10.0.2.10/24", "dev", "eth1"])?;
        ip(&["-n", e, "addr", "add", "10.0.2.1/24", "dev", "eth2"])?;
        ip(&["-n", i, "link", "set", "eth1", "up"])?;
        ip(&["-n", e, "link", "set", "eth2", "up"])?;
        self.nft(
            e,
            "table ip edge2 {\n chain pre { type nat hook prerouting priority dstnat; ip daddr 203.0.113.11 dnat to 10.0.2.10; }\n chain post { type nat hook postrouting priority srcnat; ip saddr 10.0.2.10 oifname \"eth0\" snat to 203.0.113.11; }\n chain srccheck { type filter hook forward priority 0; iifname \"eth1\" ip saddr != 10.0.1.0/24 drop; iifname \"eth2\" ip saddr != 10.0.2.0/24 drop; }\n}\n",
        )
    }

    /// What Docker sets up for `docker run -p 8080:80` with `bip 10.88.0.1/24`: a bridge docker0
    /// in the instance, a container namespace whose eth0 (10.88.0.2, then .3, … for later
    /// containers) is a veth paired with a port of the bridge, the default route via the bridge,
    /// and ip_forward on. The NAT and FORWARD rules are the caller's (`iptables_restore`), as
    /// Docker writes them. Returns the container namespace's name.
    pub fn add_container(&mut self) -> io::Result<String> {
        let n = self.containers.len();
        // `pd<pid>x<n>k`, `…k1`, … beside the testbed's c, e and i.
        let k =
            format!("{}k{}", self.instance.trim_end_matches('i'), if n == 0 { String::new() } else { n.to_string() });
        let i = self.instance.clone();
        let veth = format!("veth3f2a9c{}", n + 1);
        let addr = format!("10.88.0.{}/24", n + 2);
        ip(&["netns", "add", &k])?;
        self.containers.push(k.clone());
        ip(&["-n", &k, "link", "set", "lo", "up"])?;
        if n == 0 {
            ip(&["-n", &i, "link", "add", "docker0", "type", "bridge"])?;
            ip(&["-n", &i, "addr", "add", "10.88.0.1/24", "dev", "docker0"])?;
            ip(&["-n", &i, "link", "set", "docker0", "up"])?;
            self.instance_sysctl("net.ipv4.ip_forward=1")?;
        }
        // Interface numbers unique to this testbed: portdoctor's plain-tools script pairs a
        // container with its host by veth ifindex/link_index, and testbeds running side by side
        // in one test process would otherwise number their veths alike and be paired with the
        // wrong host (on a real machine every namespace belongs to the one host).
        let (host_end, container_end) = self.unique_ifindexes();
        ip(&[
            "link",
            "add",
            &veth,
            "index",
            &host_end.to_string(),
            "netns",
            &i,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "index",
            &container_end.to_string(),
            "netns",
            &k,
        ])?;
        ip(&["-n", &i, "link", "set", &veth, "master", "docker0"])?;
        ip(&["-n", &k, "addr", "add", &addr, "dev", "eth0"])?;
        for (ns, dev) in [(i.as_str(), veth.as_str()), (k.as_str(), "eth0")] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        ip(&["-n", &k, "route", "add", "default", "via", "10.88.0.1"])?;
        Ok(k)
    }

    /// Two interface numbers no other testbed on this machine uses: from the process id and a
    /// per-process count (ifindexes go up to 2^31).
    fn unique_ifindexes(&self) -> (u32, u32) {
        let n = IFINDEX_COUNTER.fetch_add(1, Ordering::SeqCst) % 500;
        let base = 1_000_000 + (std::process::id() % 1_000_000) * 1000 + n * 2;
        (base, base + 1)
    }

    /// Deletes the last container's namespace (the container stopped) and leaves its rules behind.
    pub fn remove_container(&mut self) -> io::Result<()> {
        match self.containers.pop() {
            Some(k) => ip(&["netns", "del", &k]),
            None => Ok(()),
        }
    }

    /// Attaches a tc ingress filter that drops every packet (a direct-action BPF classifier:
    /// this kernel has no gact action) to `dev` in the instance.
    pub fn tc_ingress_drop(&self, dev: &str) -> io::Result<()> {
        let obj = self.scripts.join("tc_drop.o").display().to_string();
        let i = self.instance.as_str();
        check(Command::new("ip").args(["netns", "exec", i, "tc", "qdisc", "add", "dev", dev, "clsact"]))?;
        check(Command::new("ip").args([
            "netns",
            "exec",
            i,
            "tc",
            "filter",
            "add",
            "dev",
            dev,
            "ingress",
            "bpf",
            "da",
            "obj",
            &obj,
            "sec",
            "classifier",
        ]))
        .map(|_| ())
    }

    /// Attaches an XDP program that drops every packet to `dev` in the instance, in generic
    /// (skb) mode, which any interface supports.
    pub fn xdp_drop(&self, dev: &str) -> io::Result<()> {
        let obj = self.scripts.join("xdp_drop.o").display().to_string();
        ip(&["-n", &self.instance, "link", "set", "dev", dev, "xdpgeneric", "obj", &obj, "sec", "xdp"])
    }

    /// Sets a sysctl inside the instance namespace.
    pub fn instance_sysctl(&self, setting: &str) -> io::Result<()> {
        check(Command::new("ip").args(["netns", "exec", &self.instance, "sysctl", "-q", "-w", setting])).map(|_| ())
    }

    /// Runs `ip ARGS` in the instance namespace (routes, rules).
    pub fn instance_ip(&self, args: &[&str]) -> io::Result<()> {
        let mut argv = vec!["-n", self.instance.as_str()];
        argv.extend_from_slice(args);
        ip(&argv)
    }

    /// A second client address (198.51.100.3), for rules that tell clients apart.
    pub fn add_client_addr(&self) -> io::Result<()> {
        ip(&["-n", &self.client, "addr", "add", "198.51.100.3/24", "dev", "eth0"])
    }

    /// Like `connect`, from a chosen client source address, with a timeout in seconds.
    pub fn connect_from(&self, src: &str, host: &str, port: u16, proto: &str, timeout: f32) -> io::Result<Wire> {
        let script = self.scripts.join("client.py").display().to_string();
        let out = self.exec(
            &self.client,
            &[python(), &script, "probe", host, &port.to_string(), proto, &timeout.to_string(), src],
        )?;
        Ok(match String::from_utf8_lossy(&out.stdout).trim() {
            "open" => Wire::Open,
            "refused" => Wire::Refused,
            "timeout" => Wire::Timeout,
            other => Wire::Error(format!("{other} {}", String::from_utf8_lossy(&out.stderr).trim())),
        })
    }

    /// Runs a command in a namespace.
    pub fn exec(&self, ns: &str, argv: &[&str]) -> io::Result<Output> {
        Command::new("ip").args(["netns", "exec", ns]).args(argv).output()
    }

    /// Adds an address to the instance's eth0.
    pub fn add_instance_addr(&self, cidr: &str) -> io::Result<()> {
        ip(&["-n", &self.instance, "addr", "add", cidr, "dev", "eth0"])
    }

    fn spawn_ready(&mut self, ns: &str, args: &[String], ready: &str) -> io::Result<u32> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, python()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        self.children.push(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() != ready {
            return Err(io::Error::other(format!("{args:?} did not start (said {line:?})")));
        }
        Ok(pid)
    }

    /// Starts a real listener in the instance; returns its pid once it is bound.
    pub fn listen(&mut self, l: &Listen) -> io::Result<u32> {
        let ns = self.instance.clone();
        self.listen_in(&ns, l)
    }

    /// Starts a real listener in namespace `ns` (the container's, say).
    pub fn listen_in(&mut self, ns: &str, l: &Listen) -> io::Result<u32> {
        let script = self.scripts.join("listener.py").display().to_string();
        let mut args = vec![
            script,
            "--proto".into(),
            l.proto.into(),
            "--bind".into(),
            l.bind.clone(),
            "--port".into(),
            l.port.to_string(),
        ];
        args.extend(["--backlog".into(), l.backlog.to_string()]);
        if let Some(v) = l.v6only {
            args.extend(["--v6only".into(), u8::from(v).to_string()]);
        }
        if let Some(d) = &l.device {
            args.extend(["--device".into(), d.clone()]);
        }
        if !l.accept {
            args.push("--no-accept".into());
        }
        if let Some(n) = &l.name {
            args.extend(["--name".into(), n.clone()]);
        }
        self.spawn_ready(ns, &args, "ready")
    }

    /// Opens `n` connections from the client and keeps them open (to fill an accept queue).
    pub fn hold_connections(&mut self, host: &str, port: u16, n: u32) -> io::Result<()> {
        let script = self.scripts.join("client.py").display().to_string();
        let ns = self.client.clone();
        self.spawn_ready(&ns, &[script, "hold".into(), host.into(), port.to_string(), n.to_string()], "held")
            .map(|_| ())
    }

    /// The kernel's answer: a real connect (or UDP exchange) from the client namespace.
    pub fn connect(&self, host: &str, port: u16, proto: &str) -> io::Result<Wire> {
        let script = self.scripts.join("client.py").display().to_string();
        let out = self.exec(&self.client, &[python(), &script, "probe", host, &port.to_string(), proto, "1.5"])?;
        Ok(match String::from_utf8_lossy(&out.stdout).trim() {
            "open" => Wire::Open,
            "refused" => Wire::Refused,
            "timeout" => Wire::Timeout,
            other => Wire::Error(format!("{other} {}", String::from_utf8_lossy(&out.stderr).trim())),
        })
    }

    /// Starts a real OpenSSH server in the instance (key authentication only, root allowed) and
    /// returns the private key the client should use. Its host key and config live in the
    /// testbed's scratch folder and go with it. `session_path`: the PATH of the sessions (to
    /// make a program installed on the host, or missing from it).
    pub fn start_sshd(&mut self, session_path: Option<&str>) -> io::Result<PathBuf> {
        let dir = self.scripts.join("ssh");
        std::fs::create_dir_all(&dir)?;
        let key = dir.join("client_key");
        let host_key = dir.join("host_key");
        for k in [&key, &host_key] {
            check(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", ""]).arg("-f").arg(k))?;
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))?;
        // sshd's privilege-separation directory (the package's service creates it at start).
        std::fs::create_dir_all("/run/sshd")?;
        let mut config = format!(
            "Port 22\nListenAddress 0.0.0.0\nHostKey {hk}\nPidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
            hk = host_key.display(),
            dir = dir.display()
        );
        if let Some(p) = session_path {
            config += &format!("SetEnv PATH={p}\n");
        }
        let conf = dir.join("sshd_config");
        std::fs::write(&conf, config)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.instance, "/usr/sbin/sshd", "-D", "-e", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.children.push(child);
        for _ in 0..50 {
            if self.connect(PRIVATE_V4, 22, "tcp")? == Wire::Open {
                return Ok(key);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(io::Error::other("sshd did not start in the instance (is openssh-server installed?)"))
    }

    /// A folder of links to every program on this machine but `without`, to play a host where
    /// those are not installed (used as a session PATH).
    pub fn programs_without(&self, without: &[&str]) -> io::Result<PathBuf> {
        let dir = self.scripts.join("bin-without");
        std::fs::create_dir_all(&dir)?;
        for src in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            for e in std::fs::read_dir(src)?.flatten() {
                let name = e.file_name();
                let link = dir.join(&name);
                if without.iter().any(|w| name == *w) || link.exists() {
                    continue;
                }
                std::os::unix::fs::symlink(e.path(), link)?;
            }
        }
        Ok(dir)
    }

    /// Starts a long-running process in a namespace; it is killed with the testbed.
    pub fn spawn_in(&mut self, ns: &str, argv: &[&str]) -> io::Result<()> {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.children.push(child);
        Ok(())
    }

    /// Runs a binary in the client namespace with a clean environment plus `env`.
    pub fn run_in_client(&self, bin: &Path, args: &[&str], env: &[(&str, &str)]) -> io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.client])
            .arg(bin)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", &self.scripts)
            .envs(env.iter().copied())
            .output()
    }

    /// Runs a binary (portdoctor) inside the instance namespace.
    pub fn run_in_instance(&self, bin: &Path, args: &[&str]) -> io::Result<Output> {
        let bin = bin.display().to_string();
        let mut argv = vec![bin.as_str()];
        argv.extend_from_slice(args);
        self.exec(&self.instance, &argv)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.client, &self.edge, &self.instance].into_iter().chain(self.containers.iter()) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.scripts);
    }
}
