//! `portdoctor`: the binary. Parses the command line, runs collect → parse → engine → render, and
//! maps the verdict to an exit code (CONTRACT.md §2). Thin by design: no judgement lives here.

mod cli;
pub(crate) mod diagnose;
mod time;

use clap::CommandFactory;
use clap::Parser;
use cli::{Cli, CloudArgs, ColorChoice, Command, HostArgs, OutputFormat, ReportArgs, SnapshotCommand};
use portdoctor_engine::cloud::{CloudQuery, CloudTarget, diagnose_cloud, platform_subject};
use portdoctor_engine::host::{HostQuery, diagnose_host};
use portdoctor_engine::platform::{ChangeWindow, Since};
use portdoctor_model::Diagnosis;
use portdoctor_render::{Format, Options, render};
use std::io::IsTerminal;
use std::io::Write;
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

/// Exit 2: usage or input error, one line on stderr.
#[derive(Debug)]
pub(crate) struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Fail {
        Fail(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
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
        Err(Fail(msg)) => {
            // Exit 2 is one line, whatever a path, a name or a tool's error held.
            say!("portdoctor: {}", portdoctor_parse::one_line(&msg, 600));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Fail> {
    match cli.command {
        Command::Host(args) => host(args),
        Command::Cloud(args) => cloud(args),
        Command::Diagnose(args) => diagnose::diagnose(args),
        Command::Probe(args) => probe(args),
        Command::Capture(args) => capture(args),
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

fn host(args: HostArgs) -> Result<u8, Fail> {
    let format = report_format(&args.report)?;
    let (raw, mut notes) = match &args.snapshot {
        Some(dir) => portdoctor_collect::snapshot::read_host(dir)?,
        None => (portdoctor_collect::host::collect_host(), Vec::new()),
    };
    let evidence = portdoctor_parse::host::parse_host(&raw)?;
    let query = HostQuery { port: args.flow.port, proto: args.flow.proto, from: args.flow.from, to: args.to };
    let mut d = diagnose_host(&evidence, &query);
    notes.append(&mut d.notes);
    d.notes = notes;
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

fn cloud(args: CloudArgs) -> Result<u8, Fail> {
    let format = report_format(&args.report)?;
    let target = match (&args.instance, args.public_ip) {
        (Some(i), _) => CloudTarget::Instance(i.clone()),
        (None, Some(ip)) => CloudTarget::PublicIp(ip),
        (None, None) => return Err(Fail("give --instance or --public-ip".into())),
    };
    let flow = &args.flow;
    let d = cloud_layer(target, flow.port, flow.proto, flow.from, &args.aws, args.snapshot.as_deref())?;
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

/// The cloud and platform layers for one target, from a snapshot folder or the live API.
pub(crate) fn cloud_layer(
    target: CloudTarget,
    port: u16,
    proto: portdoctor_model::Proto,
    from: portdoctor_model::Source,
    aws: &cli::AwsArgs,
    snapshot: Option<&Path>,
) -> Result<Diagnosis, Fail> {
    let now = time::now();
    let query = CloudQuery {
        port,
        proto,
        from,
        target,
        client_ports: aws.client_ports.clone(),
        // A snapshot is judged as of when it was taken, so a saved case reads the same later.
        changes: ChangeWindow { now: snapshot.is_none().then_some(now), since: aws.since },
    };
    let (evidence, mut notes) = match snapshot {
        Some(dir) => {
            let (docs, notes) = portdoctor_collect::aws_snapshot::read_aws(dir)?;
            let ev = portdoctor_parse::aws::parse_aws(&docs).map_err(|e| Fail(format!("{}/{e}", dir.display())))?;
            (ev, notes)
        }
        None => {
            let scope = match &query.target {
                CloudTarget::Instance(i) => portdoctor_aws::Scope::Instance(i.clone()),
                CloudTarget::PublicIp(ip) => portdoctor_aws::Scope::PublicIp(*ip),
            };
            let opts = portdoctor_aws::AwsOptions { region: aws.region.clone(), profile: aws.profile.clone() };
            let collected = portdoctor_aws::collect_blocking(opts.clone(), scope).map_err(Fail)?;
            let note = format!("live AWS API, region {}", collected.region.as_deref().unwrap_or("(none configured)"));
            let mut network = parse_live(&collected.docs)?;
            // The platform layer is asked about exactly what the network walk passed through.
            let subject = platform_subject(&network, &query);
            let since = match aws.since {
                Since::Ago(secs) => now.0 - secs,
                Since::At(t) => t.0,
            };
            // CloudTrail answers 2 lookups a second: skip the VPC and subnet, whose changes that
            // matter here (gateway detach, route-table association) also name the gateway or table.
            let mut resources: Vec<String> = subject.instance.iter().cloned().collect();
            resources.extend(
                subject
                    .interfaces
                    .iter()
                    .chain(&subject.resources)
                    .filter(|r| !r.starts_with("vpc-") && !r.starts_with("subnet-"))
                    .cloned(),
            );
            let scope = portdoctor_aws::PlatformScope { instance: subject.instance, resources, since, until: now.0 };
            // Only the platform documents are parsed again; the network ones (megabytes in a big
            // account) are read once.
            let platform = parse_live(&platform_docs(opts, scope)?)?;
            network.platform = platform.platform;
            network.notes.extend(platform.notes);
            (network, vec![note])
        }
    };
    let mut d = diagnose_cloud(&evidence, &query);
    notes.append(&mut d.notes);
    d.notes = notes;
    Ok(d)
}

/// Collects the platform layer live: its documents, named apart from the network ones (each
/// collection writes its own `portdoctor-calls.json`).
fn platform_docs(
    opts: portdoctor_aws::AwsOptions,
    scope: portdoctor_aws::PlatformScope,
) -> Result<Vec<(String, String)>, Fail> {
    let platform = portdoctor_aws::collect_platform_blocking(opts, scope).map_err(Fail)?;
    Ok(platform.docs.into_iter().map(|(name, text)| (format!("platform-{name}"), text)).collect())
}

fn parse_live(docs: &[(String, String)]) -> Result<portdoctor_model::cloud::AwsEvidence, Fail> {
    portdoctor_parse::aws::parse_aws(docs).map_err(|e| Fail(format!("live AWS API: {e}")))
}

fn probe(args: cli::ProbeArgs) -> Result<u8, Fail> {
    use portdoctor_model::probe::ProbeOutcome;
    let (host, port) = args.wire.host_port()?;
    let target = diagnose::resolve(&host, port)
        .ok()
        .flatten()
        .ok_or_else(|| Fail(format!("'{}' does not resolve", host.escape_debug())))?;
    let plan = portdoctor_collect::probe::ProbePlan {
        target,
        proto: args.wire.proto,
        ports: args.wire.ports(port),
        attempts: args.attempts,
        timeout: args.wire.timeout(),
    };
    let r = portdoctor_collect::probe::probe(&plan, "here");
    let mut text = String::new();
    if args.json {
        text = serde_json::to_string_pretty(&r)? + "\n";
    } else {
        for a in &r.attempts {
            let from = a.source_port.map(|p| format!(" from port {p}")).unwrap_or_default();
            text += &format!("{}/{} {}{from}: {} ({} ms)\n", r.proto, a.port, r.target, a.outcome.word(), a.millis);
        }
    }
    write_stdout(text.as_bytes())?;
    Ok(match r.verdict(port) {
        Some(ProbeOutcome::Open) => 0,
        Some(ProbeOutcome::Error { .. }) | None => 2,
        Some(_) => 1,
    })
}

fn capture(args: cli::CaptureArgs) -> Result<u8, Fail> {
    use portdoctor_collect::capture::{Hooks, pcap_header, pcap_record};
    let iface = args.iface.as_deref();
    let ready = || say!("portdoctor: capturing on {} for port {}", iface.unwrap_or("any"), args.port);
    let stdout = std::io::stdout();
    let mut pcap_failed = false;
    let mut each = |at: std::time::Duration, packet: &[u8]| {
        if args.pcap && !pcap_failed {
            // Streamed and flushed per packet, so a reader over SSH sees each one as it comes.
            let mut out = stdout.lock();
            pcap_failed = out.write_all(&pcap_record(at, packet)).and_then(|()| out.flush()).is_err();
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
    .map_err(|m| Fail(format!("{}: {}; {}", m.what, m.reason, m.remedy)))?;
    if args.pcap {
        return Ok(0);
    }
    let mut text = String::new();
    if args.json {
        text = serde_json::to_string(&r)? + "\n";
    } else {
        for p in &r.packets {
            let what = match p.answer {
                None => format!("SYN from {}:{} arrived", p.remote, p.remote_port),
                Some(a) => format!("{a:?} left for {}:{}", p.remote, p.remote_port),
            };
            text += &format!("+{:.3}s {what}\n", p.at);
        }
        text += &format!("{} SYN(s) to port {} in {:.1}s on {}\n", r.syns().count(), r.port, r.seconds, r.iface);
    }
    write_stdout(text.as_bytes())?;
    Ok(0)
}

fn snapshot_aws(out: &Path, region: Option<String>, profile: Option<String>) -> Result<u8, Fail> {
    let opts = portdoctor_aws::AwsOptions { region, profile };
    let collected = portdoctor_aws::collect_blocking(opts.clone(), portdoctor_aws::Scope::Region).map_err(Fail)?;
    if collected.failed_everything {
        let why =
            collected.docs.iter().find(|(n, _)| n == "portdoctor-calls.json").map(|(_, d)| d.as_str()).unwrap_or("");
        let first = serde_json::from_str::<serde_json::Value>(why)
            .ok()
            .and_then(|v| v["PortdoctorCalls"][0]["Message"].as_str().map(str::to_string));
        return Err(Fail(format!(
            "no AWS evidence could be collected: {}",
            first.unwrap_or_else(|| "every call failed".into())
        )));
    }
    let mut docs = collected.docs;
    let now = time::now();
    let scope = portdoctor_aws::PlatformScope { since: now.0 - 14 * 86_400, until: now.0, ..Default::default() };
    docs.extend(platform_docs(opts, scope)?);
    let stamp = serde_json::json!({"PortdoctorSnapshot": {"TakenAt": now.to_string(), "Region": collected.region}});
    docs.push(("portdoctor-snapshot.json".into(), stamp.to_string()));
    // Refuse to write what portdoctor itself could not read back.
    parse_live(&docs)?;
    portdoctor_collect::safe_fs::write_files(out, docs.iter().map(|(n, t)| (n.as_str(), t.as_bytes())))?;
    say!(
        "wrote an AWS snapshot of {} documents (region {}) to {}",
        docs.len(),
        collected.region.as_deref().unwrap_or("?"),
        out.display()
    );
    Ok(0)
}

fn snapshot_host(out: &Path) -> Result<u8, Fail> {
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
        .map(|(name, s)| format!("{name} ({:?})", s.outcome))
        .collect();
    say!("wrote a host snapshot of {} sources to {}", raw.sources.len(), out.display());
    if !missing.is_empty() {
        say!("not obtained (recorded in manifest.json): {}", missing.join(", "));
    }
    Ok(0)
}

pub(crate) fn report_format(r: &ReportArgs) -> Result<Format, Fail> {
    match (r.json, r.format) {
        (true, _) | (false, OutputFormat::Json) => Ok(Format::Json),
        (false, OutputFormat::Text) => Ok(Format::Text),
        (false, OutputFormat::Markdown) => Ok(Format::Markdown),
        (false, OutputFormat::Html) => Ok(Format::Html),
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

pub(crate) fn emit(d: &Diagnosis, format: Format, r: &ReportArgs) -> Result<(), Fail> {
    let opts = text_options(r);
    match &r.output {
        Some(path) => {
            let mut f =
                std::fs::File::create(path).map_err(|e| Fail(format!("{}: cannot write: {e}", path.display())))?;
            render(&mut f, d, format, opts).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
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
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Fail> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    stdout_written(lock.write_all(bytes).and_then(|()| lock.flush()))
}

fn stdout_written(r: std::io::Result<()>) -> Result<(), Fail> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Fail(format!("stdout: cannot write: {e}"))),
        _ => Ok(()),
    }
}
