//! The command line (CONTRACT.md §1).

use clap::{Args, Parser, Subcommand, ValueEnum};
use portdoctor_engine::platform::Since;
use portdoctor_model::cloud::PortRange;
use portdoctor_model::net::{Family, Proto, Source};
use portdoctor_model::time::Timestamp;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "portdoctor", version, about = "Why can't the internet reach this port on my server?")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// From anywhere: every layer it can reach — probes from here, the cloud and platform layers,
    /// the host over SSH with a capture at its NIC — joined into one verdict.
    Diagnose(DiagnoseArgs),
    /// On the server itself: the host layers (listener, firewall, kernel path, accept queue,
    /// conntrack).
    Host(HostArgs),
    /// What the wire says: TCP (or UDP) attempts to the port and to control ports, each open,
    /// refused, filtered or an ICMP error of a named kind.
    Probe(ProbeArgs),
    /// On the instance: which SYNs to the port reach the NIC and what leaves in answer.
    Capture(CaptureArgs),
    /// The AWS path to an instance or public address: internet gateway, routes, network ACLs,
    /// security groups, interface and instance; or through a load balancer to each target;
    /// from a snapshot (or the live API).
    Cloud(CloudArgs),
    /// On the server (root): the kernel's own word. Every packet of the flow the kernel drops
    /// while this runs, with the kernel's drop reason and the function that dropped it.
    Trace(TraceArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from this command line.
    Manpage,
    /// Write the evidence that `--snapshot` reads.
    Snapshot {
        #[command(subcommand)]
        what: SnapshotCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// The AWS network evidence of a region as AWS CLI JSON (what `cloud --snapshot` reads).
    Aws {
        /// The folder to write (created if needed).
        #[arg(long, value_parser = non_empty_path)]
        out: PathBuf,
        #[arg(long, value_parser = non_empty_text)]
        region: Option<String>,
        #[arg(long, value_parser = non_empty_text)]
        profile: Option<String>,
    },
    /// This host's evidence: sockets, addresses, routes, counters, conntrack (docs/host-snapshot.md).
    Host {
        /// The folder to write (created if needed).
        #[arg(long, value_parser = non_empty_path)]
        out: PathBuf,
    },
}

/// The flow every question is about.
#[derive(Debug, Args)]
pub struct FlowArgs {
    /// The port in question (1-65535).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    #[arg(long, default_value = "tcp", value_parser = parse_proto)]
    pub proto: Proto,
    /// The client: `internet` (every public address), an address, or a CIDR.
    #[arg(long, default_value = "internet", value_parser = parse_source)]
    pub from: Source,
}

#[derive(Debug, Args)]
pub struct HostArgs {
    #[command(flatten)]
    pub flow: FlowArgs,
    /// The address the traffic arrives at (a cloud instance sees its private address, not the
    /// public one); without it every plausible arrival is judged (toward the client, and the
    /// default route's interface).
    #[arg(long)]
    pub to: Option<IpAddr>,
    /// Judge a host snapshot (from `portdoctor snapshot host`) instead of this machine.
    #[arg(long, value_parser = non_empty_path, conflicts_with = "trace")]
    pub snapshot: Option<PathBuf>,
    /// Also watch the kernel for SECONDS (default 10; root): the flow's packets it drops meanwhile
    /// join the verdict (connect from the client while it runs).
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "10",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub trace: Option<u32>,
    /// With --trace: also name the nftables rule that dropped the flow (a temporary table marks
    /// only this flow for tracing: the one change to the host portdoctor makes; removed after).
    #[arg(long, requires = "trace")]
    pub nftrace: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["instance", "public_ip", "load_balancer"])))]
pub struct CloudArgs {
    #[command(flatten)]
    pub flow: FlowArgs,
    /// The instance (i-…); its public address is the target.
    #[arg(long, value_parser = non_empty_text)]
    pub instance: Option<String>,
    /// The public (or Elastic) IP address the clients use.
    #[arg(long)]
    pub public_ip: Option<IpAddr>,
    /// A load balancer (ALB, NLB, Classic) by name, ARN or DNS name: the path through its
    /// listener to each target.
    #[arg(long, value_parser = non_empty_text)]
    pub load_balancer: Option<String>,
    /// An AWS snapshot folder (AWS CLI JSON, as `portdoctor snapshot aws` or Batfish lay it out).
    #[arg(long, value_parser = non_empty_path)]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// AWS access and the cloud question's finer points, shared by `cloud` and `diagnose`.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// The client's ephemeral ports, which stateless network ACLs must let replies reach.
    #[arg(long, default_value = "1024-65535", value_parser = parse_ports)]
    pub client_ports: PortRange,
    /// How far back to look for changes to the path (CloudTrail): 14d, 36h, 2w, 90m, or a date
    /// (2026-11-01) or time (2026-11-01T08:00:00Z).
    #[arg(long, default_value = "14d", value_parser = parse_since)]
    pub since: Since,
    #[arg(long, value_parser = non_empty_text)]
    pub region: Option<String>,
    #[arg(long, value_parser = non_empty_text)]
    pub profile: Option<String>,
    /// The address family asked about: 4 or 6. Without it a dual-stack target (an instance
    /// with a public IPv4 and an IPv6 address, a name with A and AAAA records) is judged in
    /// each family; a public address or a --from prefix names its own.
    #[arg(long, value_name = "4|6", value_parser = parse_family)]
    pub family: Option<Family>,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub wire: WireArgs,
    /// The client: `internet` (every public address), an address, or a CIDR.
    #[arg(long, default_value = "internet", value_parser = parse_source)]
    pub from: Source,
    /// Read the host over SSH with your own ssh client and config: [USER@]HOST or
    /// ssh://[USER@]HOST[:PORT].
    #[arg(long, value_parser = non_empty_text)]
    pub ssh: Option<String>,
    /// Passed to ssh as -F FILE (ssh acts on it: a ProxyCommand or Match exec there runs).
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub ssh_config: Option<PathBuf>,
    /// Passed to ssh as -o OPT (repeatable), unchanged: options that run commands
    /// (ProxyCommand=…, LocalCommand=…) run them on this machine, as with ssh itself.
    #[arg(long, value_name = "OPT", value_parser = non_empty_text)]
    pub ssh_option: Vec<String>,
    /// Passed to ssh as -i FILE.
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub ssh_identity: Option<PathBuf>,
    /// Behind a load balancer: read target TARGET's host over SSH at DEST (repeatable).
    /// TARGET is a target's id as its group registers it (i-…, or an IP target's address), or
    /// `all` with DEST a template holding {id} and/or {ip} (`all=ec2-user@{ip}`); DEST is
    /// [USER@]HOST or ssh://[USER@]HOST[:PORT] (a Host alias of your ssh config). --ssh-config,
    /// --ssh-option and --ssh-identity apply to each. With --snapshot, the case folder's cloud
    /// layer says which targets there are and the hosts are read live.
    #[arg(long, value_name = "TARGET=DEST", value_parser = parse_target_ssh)]
    pub target_ssh: Vec<(String, String)>,
    /// The instance (i-…), for the cloud and platform layers.
    #[arg(long, value_parser = non_empty_text)]
    pub instance: Option<String>,
    /// A case folder: aws/ (an AWS snapshot) and/or host/ (a host snapshot), optionally
    /// probes.json and capture.json. Nothing is sent on the network.
    #[arg(long, value_parser = non_empty_path)]
    pub snapshot: Option<PathBuf>,
    /// Also watch the --ssh host's kernel for SECONDS (default 10) while the probes run:
    /// `portdoctor trace` there (installed on the host; root or passwordless sudo), its drops
    /// joined with the verdict. SECONDS should cover the probes (a few seconds).
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "10",
          requires = "ssh", conflicts_with = "snapshot",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub trace: Option<u32>,
    /// With --trace: the host's trace also names the nftables rule that dropped the probes
    /// (`trace --nftrace` there: a temporary table marking only this flow, removed after).
    #[arg(long, requires = "trace")]
    pub nftrace: bool,
    /// Also probe from another vantage point: `ssh-host` (the --ssh host).
    #[arg(long, value_parser = non_empty_text)]
    pub vantage: Option<String>,
    /// NAME:ADDR[,ADDR…] (repeatable, like curl's --resolve): NAME resolves to these
    /// addresses instead of asking the system resolver (or the case folder's dns.json).
    #[arg(long, value_name = "NAME:ADDR", value_parser = parse_resolve)]
    pub resolve: Vec<(String, Vec<IpAddr>)>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// What goes on the wire, shared by `probe` and `diagnose`.
#[derive(Debug, Args)]
pub struct WireArgs {
    /// HOST:PORT, [V6]:PORT, or HOST with --port. HOST is an address or a name.
    #[arg(value_parser = non_empty_text)]
    pub target: String,
    /// The port, when TARGET does not carry one.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    #[arg(long, default_value = "tcp", value_parser = parse_proto)]
    pub proto: Proto,
    /// Ports that should answer when the host is up (repeatable; default 22).
    #[arg(long = "control-port", default_values_t = [22u16], value_parser = clap::value_parser!(u16).range(1..))]
    pub control_ports: Vec<u16>,
    /// How long one probe waits for an answer, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub wire: WireArgs,
    /// Attempts per port, all at once (1-100).
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100))]
    pub attempts: usize,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// One interface (default: all).
    #[arg(long, value_parser = non_empty_text)]
    pub iface: Option<String>,
    /// Seconds to capture.
    #[arg(long, default_value_t = 10)]
    pub duration: u32,
    /// JSON instead of text.
    #[arg(long, conflicts_with = "pcap")]
    pub json: bool,
    /// A pcap stream (raw IP) on stdout, packet by packet, for tcpdump -r or a reader over SSH.
    #[arg(long)]
    pub pcap: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub flow: FlowArgs,
    /// Seconds to watch (Ctrl-C ends earlier, with the report).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub duration: u32,
    /// Also name the rule that dropped it: adds a temporary nftables table marking only this
    /// flow for tracing (the one change to the host portdoctor makes; removed on exit).
    #[arg(long)]
    pub nftrace: bool,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Short for --format json.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub output: Option<PathBuf>,
    /// List every check, not only the causes.
    #[arg(long, short)]
    pub verbose: bool,
    /// Colour in text output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Markdown,
    Html,
}

fn parse_proto(s: &str) -> Result<Proto, String> {
    s.parse()
}

fn parse_ports(s: &str) -> Result<PortRange, String> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let lo: u16 = lo.trim().parse().map_err(|_| format!("'{s}' is not a port range LO-HI"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("'{s}' is not a port range LO-HI"))?;
    if lo > hi {
        return Err(format!("'{s}': the low port is above the high one"));
    }
    if lo == 0 {
        // No client sends from port 0 (CONTRACT: port 0 is a usage error everywhere).
        return Err(format!("'{s}': port 0 is not a port (1-65535)"));
    }
    Ok(PortRange { from: lo, to: hi })
}

fn parse_since(s: &str) -> Result<Since, String> {
    if let Some(t) = Timestamp::parse(s).filter(|_| s.contains('-')) {
        return Ok(Since::At(t));
    }
    let unit = s.chars().last().ok_or("--since is empty")?;
    let scale = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(format!("'{s}' is neither a duration (14d, 36h, 2w, 90m) nor a date (2026-11-01)")),
    };
    let n: i64 = s[..s.len() - 1].parse().map_err(|_| format!("'{s}': expected a number before '{unit}'"))?;
    if n <= 0 {
        return Err(format!("'{s}': the duration must be positive"));
    }
    Ok(Since::Ago(n.saturating_mul(scale)))
}

fn parse_family(s: &str) -> Result<Family, String> {
    match s.trim_start_matches("ipv").trim_start_matches("IPv") {
        "4" => Ok(Family::V4),
        "6" => Ok(Family::V6),
        _ => Err(format!("'{s}' is not an address family (4 or 6)")),
    }
}

/// `NAME:ADDR[,ADDR…]`, or curl's `NAME:PORT:ADDR[,ADDR…]` (the port is ignored: the name is
/// the same on every port). An IPv6 address may be bracketed.
fn parse_resolve(s: &str) -> Result<(String, Vec<IpAddr>), String> {
    let bad = || format!("'{s}' is not NAME:ADDR[,ADDR…]");
    let (name, rest) = s.split_once(':').ok_or_else(bad)?;
    let name = non_empty_text(name).map_err(|e| format!("'{s}': the name {e}"))?;
    let addrs = |list: &str| -> Option<Vec<IpAddr>> {
        list.split(',').map(|a| a.trim().trim_start_matches('[').trim_end_matches(']').parse().ok()).collect()
    };
    let with_port = rest.split_once(':').filter(|(p, _)| p.parse::<u16>().is_ok()).and_then(|(_, a)| addrs(a));
    let list = addrs(rest).or(with_port).ok_or_else(bad)?;
    Ok((name.to_ascii_lowercase(), list))
}

/// `TARGET=DEST` of --target-ssh (DEST is checked as an ssh destination once TARGET's
/// address is known: a template's {ip} is filled in first).
fn parse_target_ssh(s: &str) -> Result<(String, String), String> {
    let (target, dest) = s.split_once('=').ok_or_else(|| format!("'{s}' is not TARGET=DEST"))?;
    let target = non_empty_text(target).map_err(|e| format!("'{s}': the target {e}"))?;
    let dest = non_empty_text(dest).map_err(|e| format!("'{s}': the destination {e}"))?;
    Ok((target, dest))
}

fn parse_source(s: &str) -> Result<Source, String> {
    s.parse()
}

/// A value a flag needs (an id, a region, a host): empty is a usage error, not a blank in a
/// message ("an abuse report against  is open"), and a control character cannot be one.
fn non_empty_text(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("must not hold control characters (newline, tab, escape)".into());
    }
    Ok(s.to_string())
}

/// A file or folder: empty is a usage error (it would mean the current folder, or nothing).
fn non_empty_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() { Err("must not be empty".into()) } else { Ok(PathBuf::from(s)) }
}
