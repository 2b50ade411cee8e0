//! The command line (CONTRACT.md §1).

use clap::{Args, Parser, Subcommand, ValueEnum};
use portdoctor_engine::platform::Since;
use portdoctor_model::cloud::PortRange;
use portdoctor_model::net::{Proto, Source};
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
    /// On the server itself: the host layers (listener, accept queue, conntrack; firewall and
    /// rp_filter are reported as not checked yet).
    Host(HostArgs),
    /// The AWS path to an instance or public address: internet gateway, routes, network ACLs,
    /// security groups, interface and instance, from a snapshot (or the live API).
    Cloud(CloudArgs),
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
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        profile: Option<String>,
    },
    /// This host's evidence: sockets, addresses, routes, counters, conntrack (docs/host-snapshot.md).
    Host {
        /// The folder to write (created if needed).
        #[arg(long)]
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
    /// The address the traffic is sent to; by default worked out from the routes (a cloud
    /// instance sees its private address, not the public one).
    #[arg(long)]
    pub to: Option<IpAddr>,
    /// Judge a host snapshot (from `portdoctor snapshot host`) instead of this machine.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["instance", "public_ip"])))]
pub struct CloudArgs {
    #[command(flatten)]
    pub flow: FlowArgs,
    /// The instance (i-…); its public address is the target.
    #[arg(long)]
    pub instance: Option<String>,
    /// The public (or Elastic) IP address the clients use.
    #[arg(long)]
    pub public_ip: Option<IpAddr>,
    /// The client's ephemeral ports, which stateless network ACLs must let replies reach.
    #[arg(long, default_value = "1024-65535", value_parser = parse_ports)]
    pub client_ports: PortRange,
    /// How far back to look for changes to the path (CloudTrail): 14d, 36h, 2w, 90m, or a date
    /// (2026-11-01) or time (2026-11-01T08:00:00Z).
    #[arg(long, default_value = "14d", value_parser = parse_since)]
    pub since: Since,
    /// An AWS snapshot folder (AWS CLI JSON, as `portdoctor snapshot aws` or Batfish lay it out).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub profile: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Short for --format json.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
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

fn parse_source(s: &str) -> Result<Source, String> {
    s.parse()
}
