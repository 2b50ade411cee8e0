//! `portdoctor`: the binary. Arguments → a plan → the sources (portdoctor-collect: a snapshot,
//! this host, the host over SSH, the cloud API) → the engine → a renderer, and the verdict's exit
//! code (CONTRACT.md §2). Thin by design: no judgement and no evidence format lives here.

mod cli;
pub(crate) mod diagnose;
mod error;
mod time;

use clap::CommandFactory;
use clap::Parser;
use cli::{Cli, CloudArgs, ColorChoice, Command, HostArgs, OutputFormat, ReportArgs, SnapshotCommand};
use error::Error;
use portdoctor_engine::cloud::{CloudQuery, CloudTarget};
use portdoctor_engine::host::{HostQuery, diagnose_host};
use portdoctor_engine::platform::ChangeWindow;
use portdoctor_model::Diagnosis;
use portdoctor_model::net::{Family, Source};
use portdoctor_model::time::Timestamp;
use portdoctor_render::{Format, Options, render};
use std::io::IsTerminal;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

/// A line on stderr. `eprintln!` panics when stderr cannot be written (`2>/dev/full`), which
/// would turn exit 2 into a crash; a message nobody can receive is dropped instead.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use say;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            // Help on a closed pipe (`| head`) ends quietly; on a full disk it is an error.
            return match e.print() {
                Err(io) if io.kind() != std::io::ErrorKind::BrokenPipe => {
                    say!("portdoctor: stdout: cannot write: {io}");
                    ExitCode::from(2)
                }
                _ => ExitCode::SUCCESS,
            };
        }
        Err(e) => {
            // Clap's message spans several lines (the problem, then usage and tips): keep the
            // problem, on one line.
            let rendered = e.to_string();
            let problem: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            say!("portdoctor: {}", portdoctor_parse::one_line(problem.join(" ").trim_start_matches("error: "), 600));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line, whatever a path, a name or a tool's error held.
            say!("portdoctor: {}", portdoctor_parse::one_line(&e.to_string(), 600));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Host(args) => host(args),
        Command::Cloud(args) => cloud(args),
        Command::Diagnose(args) => diagnose::diagnose(args),
        Command::Probe(args) => probe(args),
        Command::Capture(args) => capture(args),
        Command::Trace(args) => trace(args),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a write error.
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "portdoctor", &mut text);
            write_stdout(&text)?;
            Ok(0)
        }
        Command::Manpage => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut text)?;
            write_stdout(&text)?;
            Ok(0)
        }
        Command::Snapshot { what: SnapshotCommand::Host { out } } => snapshot_host(&out),
        Command::Snapshot { what: SnapshotCommand::Aws { out, region, profile } } => {
            snapshot_aws(&out, region, profile)
        }
    }
}

fn host(args: HostArgs) -> Result<u8, Error> {
    let format = report_format(&args.report);
    // The kernel witness watches while the evidence is collected (`--trace`).
    let witness = args.trace.map(|secs| {
        let req = portdoctor_trace::Request {
            port: args.flow.port,
            proto: args.flow.proto,
            from: args.flow.from,
            duration: std::time::Duration::from_secs(u64::from(secs)),
            nftrace: args.nftrace,
        };
        let (port, proto) = (args.flow.port, args.flow.proto);
        std::thread::spawn(move || {
            let ready = || {
                say!(
                    "portdoctor: watching the kernel for {secs} s: connect to {} port {port} now{}",
                    proto.as_str(),
                    if req.nftrace { NFTRACE_NOTICE } else { "" }
                )
            };
            portdoctor_trace::trace(&req, &portdoctor_trace::Hooks { ready: &ready, stop: &|| false })
        })
    });
    let (evidence, mut notes) = match &args.snapshot {
        Some(dir) => portdoctor_collect::case::host_from_folder(dir)?,
        None => (portdoctor_parse::host::parse_host(&portdoctor_collect::host::collect_host())?, Vec::new()),
    };
    let query = HostQuery { port: args.flow.port, proto: args.flow.proto, from: args.flow.from, to: args.to };
    let mut d = diagnose_host(&evidence, &query);
    if let Some(w) = witness {
        d = match w.join() {
            Ok(Ok(report)) => portdoctor_engine::witness::join(d, &report),
            Ok(Err(e)) => portdoctor_engine::witness::join_failure(d, &e),
            Err(_) => return Err(Error::Runtime("the kernel witness failed".into())),
        };
    }
    notes.append(&mut d.notes);
    d.notes = notes;
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

fn cloud(args: CloudArgs) -> Result<u8, Error> {
    let format = report_format(&args.report);
    let target = match (&args.instance, args.public_ip, &args.load_balancer) {
        (Some(i), _, _) => CloudTarget::Instance(i.clone()),
        (None, Some(ip), _) => CloudTarget::PublicIp(ip),
        (None, None, Some(lb)) => CloudTarget::LoadBalancer(lb.clone()),
        (None, None, None) => return Err(Error::Usage("give --instance, --public-ip or --load-balancer".into())),
    };
    let flow = &args.flow;
    check_family(args.aws.family, args.public_ip.filter(|_| args.instance.is_none()), flow.from)?;
    let layer = match &args.snapshot {
        Some(dir) => portdoctor_collect::cloud::from_snapshot(dir, &cloud_query(target, flow, &args.aws, None))?,
        None => {
            let now = time::now();
            let q = cloud_query(target, flow, &args.aws, Some(now));
            portdoctor_collect::cloud::live(&aws_api(&args.aws), &q, now)?
        }
    };
    let d = layer.judge();
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

/// `--family` must agree with what names a family by itself: the target address, a `--from`
/// prefix (a usage error, not a silent choice of one of them).
pub(crate) fn check_family(family: Option<Family>, target: Option<IpAddr>, from: Source) -> Result<(), Error> {
    let Some(f) = family else { return Ok(()) };
    let target = target.filter(|t| Family::of(t) != f).map(|t| format!("the target {t}"));
    let from = match from {
        Source::Prefix(c) if c.family() != f => Some(format!("--from {c}")),
        _ => None,
    };
    match target.or(from) {
        Some(other) => {
            Err(Error::Usage(format!("--family {}: {other} is not {}", f.word().trim_start_matches("ipv"), f.name())))
        }
        None => Ok(()),
    }
}

/// The cloud question. Live evidence is judged as of `now`; a snapshot (`None`) as of when it
/// was taken, so a saved case reads the same later.
pub(crate) fn cloud_query(
    target: CloudTarget,
    flow: &cli::FlowArgs,
    aws: &cli::AwsArgs,
    now: Option<Timestamp>,
) -> CloudQuery {
    CloudQuery {
        port: flow.port,
        proto: flow.proto,
        from: flow.from,
        target,
        client_ports: aws.client_ports.clone(),
        changes: ChangeWindow { now, since: aws.since },
        family: aws.family,
        name: None,
    }
}

/// The live AWS API, as the command line configures it.
pub(crate) fn aws_api(aws: &cli::AwsArgs) -> portdoctor_aws::Live {
    portdoctor_aws::Live(portdoctor_aws::AwsOptions { region: aws.region.clone(), profile: aws.profile.clone() })
}

fn probe(args: cli::ProbeArgs) -> Result<u8, Error> {
    use portdoctor_model::probe::ProbeOutcome;
    let (host, port) = args.wire.host_port()?;
    let target = diagnose::resolve(&host, port)
        .ok()
        .flatten()
        .ok_or_else(|| Error::Usage(format!("'{}' does not resolve", host.escape_debug())))?;
    let plan = portdoctor_collect::probe::ProbePlan {
        target,
        proto: args.wire.proto,
        ports: args.wire.ports(port),
        attempts: args.attempts,
        timeout: args.wire.timeout(),
    };
    let r = portdoctor_collect::probe::probe(&plan, "here");
    write_stdout(portdoctor_render::wire::probe(&r, args.json)?.as_bytes())?;
    Ok(match r.verdict(port) {
        Some(ProbeOutcome::Open) => 0,
        Some(ProbeOutcome::Error { .. }) | None => 2,
        Some(_) => 1,
    })
}

fn capture(args: cli::CaptureArgs) -> Result<u8, Error> {
    use portdoctor_collect::capture::{Hooks, pcap_header, pcap_record};
    let iface = args.iface.as_deref();
    let ready = || say!("portdoctor: capturing on {} for port {}", iface.unwrap_or("any"), args.port);
    let stdout = std::io::stdout();
    // The first write that failed: the stream stops there; a closed pipe ends it quietly, any
    // other failure is reported when the capture ends.
    let mut pcap_failed: Option<std::io::Error> = None;
    let mut each = |at: std::time::Duration, packet: &[u8]| {
        if args.pcap && pcap_failed.is_none() {
            // Streamed and flushed per packet, so a reader over SSH sees each one as it comes.
            let mut out = stdout.lock();
            pcap_failed = out.write_all(&pcap_record(at, packet)).and_then(|()| out.flush()).err();
        }
    };
    if args.pcap {
        write_stdout(&pcap_header())?;
    }
    let hooks = Hooks { ready: &ready, stop: &|| false, each: &mut each };
    let r = portdoctor_collect::capture::capture(
        args.port,
        iface,
        std::time::Duration::from_secs(u64::from(args.duration)),
        hooks,
    )
    .map_err(|m| Error::Runtime(format!("{}: {}; {}", m.what, m.reason, m.remedy)))?;
    if args.pcap {
        return stdout_written(pcap_failed.map_or(Ok(()), Err)).map(|()| 0);
    }
    write_stdout(portdoctor_render::wire::capture(&r, args.json)?.as_bytes())?;
    Ok(0)
}

/// What `--nftrace` changes on the host, said when the witness starts.
const NFTRACE_NOTICE: &str = " (--nftrace: a temporary nftables table marks the flow; removed on exit)";

fn trace(args: cli::TraceArgs) -> Result<u8, Error> {
    let flow = &args.flow;
    let req = portdoctor_trace::Request {
        port: flow.port,
        proto: flow.proto,
        from: flow.from,
        duration: std::time::Duration::from_secs(u64::from(args.duration)),
        nftrace: args.nftrace,
    };
    let interrupted = portdoctor_trace::interrupt_flag();
    let ready = || {
        say!(
            "portdoctor: tracing {} port {} from {} for {} s{}",
            flow.proto.as_str(),
            flow.port,
            flow.from,
            args.duration,
            if args.nftrace { NFTRACE_NOTICE } else { "" }
        )
    };
    let stop = || interrupted.load(std::sync::atomic::Ordering::Relaxed);
    let r = portdoctor_trace::trace(&req, &portdoctor_trace::Hooks { ready: &ready, stop: &stop })
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let text = if args.json { serde_json::to_string_pretty(&r)? + "\n" } else { portdoctor_trace::render_text(&r) };
    write_stdout(text.as_bytes())?;
    Ok(r.exit_code())
}

fn snapshot_aws(out: &Path, region: Option<String>, profile: Option<String>) -> Result<u8, Error> {
    let api = portdoctor_aws::Live(portdoctor_aws::AwsOptions { region, profile });
    let (written, region) = portdoctor_collect::cloud::write_snapshot(&api, out, time::now())?;
    say!(
        "wrote an AWS snapshot of {written} documents (region {}) to {}",
        region.as_deref().unwrap_or("?"),
        out.display()
    );
    Ok(0)
}

fn snapshot_host(out: &Path) -> Result<u8, Error> {
    let raw = portdoctor_collect::host::collect_host();
    if out == Path::new("-") {
        // One JSON document on stdout, for `diagnose --ssh` to read a host in one command.
        let bundle = portdoctor_parse::host::write_bundle(&raw, Some(time::now_rfc3339())) + "\n";
        write_stdout(bundle.as_bytes())?;
        return Ok(0);
    }
    portdoctor_collect::snapshot::write_host(out, &raw, Some(time::now_rfc3339()))?;
    let missing: Vec<String> = raw
        .sources
        .iter()
        .filter(|(_, s)| s.outcome != portdoctor_parse::host::Outcome::Ok)
        .map(|(name, s)| format!("{name} ({})", s.outcome.as_str()))
        .collect();
    say!("wrote a host snapshot of {} sources to {}", raw.sources.len(), out.display());
    if !missing.is_empty() {
        say!("not obtained (recorded in manifest.json): {}", missing.join(", "));
    }
    Ok(0)
}

pub(crate) fn report_format(r: &ReportArgs) -> Format {
    match (r.json, r.format) {
        (true, _) | (false, OutputFormat::Json) => Format::Json,
        (false, OutputFormat::Text) => Format::Text,
        (false, OutputFormat::Markdown) => Format::Markdown,
        (false, OutputFormat::Html) => Format::Html,
    }
}

/// Colour and wrapping for a person at a terminal; plain text for files and pipes.
fn text_options(r: &ReportArgs) -> Options {
    let terminal = r.output.is_none() && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match r.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color,
    };
    let width = terminal.then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))).flatten();
    Options { verbose: r.verbose, color, width }
}

pub(crate) fn emit(d: &Diagnosis, format: Format, r: &ReportArgs) -> Result<(), Error> {
    let opts = text_options(r);
    match &r.output {
        Some(path) => {
            let mut f = std::fs::File::create(path)
                .map_err(|e| Error::Runtime(format!("{}: cannot write: {e}", path.display())))?;
            render(&mut f, d, format, opts).map_err(|e| Error::Runtime(format!("{}: {e}", path.display())))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            stdout_written(render(&mut lock, d, format, opts).and_then(|()| lock.flush()))?;
        }
    }
    Ok(())
}

/// Everything printed on stdout goes through here: a closed pipe (`| head`) ends the output
/// quietly; any other failure (a full disk, /dev/full) is an error on one line, not a panic.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    stdout_written(lock.write_all(bytes).and_then(|()| lock.flush()))
}

fn stdout_written(r: std::io::Result<()>) -> Result<(), Error> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Runtime(format!("stdout: cannot write: {e}")))
        }
        _ => Ok(()),
    }
}
