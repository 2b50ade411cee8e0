//! `portdoctor`: the binary. Parses the command line, runs collect → parse → engine → render, and
//! maps the verdict to an exit code (CONTRACT.md §2). Thin by design: no judgement lives here.

mod cli;
mod time;

use clap::Parser;
use cli::{Cli, CloudArgs, Command, HostArgs, OutputFormat, ReportArgs, SnapshotCommand};
use portdoctor_engine::cloud::{CloudQuery, CloudTarget, diagnose_cloud};
use portdoctor_engine::host::{HostQuery, diagnose_host};
use portdoctor_model::Diagnosis;
use portdoctor_render::{Format, Options, render};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Exit 2: usage or input error, one line on stderr.
#[derive(Debug)]
struct Fail(String);

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
            eprintln!("portdoctor: {}", problem.join(" ").trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(msg)) => {
            eprintln!("portdoctor: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Fail> {
    match cli.command {
        Command::Host(args) => host(args),
        Command::Cloud(args) => cloud(args),
        Command::Snapshot { what: SnapshotCommand::Host { out } } => snapshot_host(&out),
    }
}

fn host(args: HostArgs) -> Result<u8, Fail> {
    let format = report_format(&args.report)?;
    let (raw, mut notes) = match &args.snapshot {
        Some(dir) => portdoctor_collect::snapshot::read_host(dir)?,
        None => (portdoctor_collect::host::collect_host(), Vec::new()),
    };
    let evidence = portdoctor_parse::host::parse_host(&raw)?;
    let query = HostQuery { port: args.port, proto: args.proto, from: args.from, to: args.to };
    let mut d = diagnose_host(&evidence, &query);
    notes.append(&mut d.notes);
    d.notes = notes;
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

fn cloud(args: CloudArgs) -> Result<u8, Fail> {
    let format = report_format(&args.report)?;
    let Some(dir) = &args.snapshot else {
        return Err(Fail("live AWS collection is not built yet: pass --snapshot DIR (AWS CLI JSON files)".into()));
    };
    let (docs, mut notes) = portdoctor_collect::aws_snapshot::read_aws(dir)?;
    let evidence = portdoctor_parse::aws::parse_aws(&docs).map_err(|e| Fail(format!("{}/{e}", dir.display())))?;
    let target = match (&args.instance, args.public_ip) {
        (Some(i), _) => CloudTarget::Instance(i.clone()),
        (None, Some(ip)) => CloudTarget::PublicIp(ip),
        (None, None) => return Err(Fail("give --instance or --public-ip".into())),
    };
    let query =
        CloudQuery { port: args.port, proto: args.proto, from: args.from, target, client_ports: args.client_ports };
    let mut d = diagnose_cloud(&evidence, &query);
    notes.append(&mut d.notes);
    d.notes = notes;
    emit(&d, format, &args.report)?;
    Ok(d.status.exit_code() as u8)
}

fn snapshot_host(out: &Path) -> Result<u8, Fail> {
    let raw = portdoctor_collect::host::collect_host();
    portdoctor_collect::snapshot::write_host(out, &raw, Some(time::now_rfc3339()))?;
    let missing: Vec<String> = raw
        .sources
        .iter()
        .filter(|(_, s)| s.outcome != portdoctor_parse::host::Outcome::Ok)
        .map(|(name, s)| format!("{name} ({:?})", s.outcome))
        .collect();
    eprintln!("wrote a host snapshot of {} sources to {}", raw.sources.len(), out.display());
    if !missing.is_empty() {
        eprintln!("not obtained (recorded in manifest.json): {}", missing.join(", "));
    }
    Ok(0)
}

fn report_format(r: &ReportArgs) -> Result<Format, Fail> {
    match (r.json, r.format) {
        (true, _) | (false, OutputFormat::Json) => Ok(Format::Json),
        (false, OutputFormat::Text) => Ok(Format::Text),
        (false, OutputFormat::Markdown) => Ok(Format::Markdown),
        (false, OutputFormat::Html) => Err(Fail("--format html is not built yet (use text, json or markdown)".into())),
    }
}

fn emit(d: &Diagnosis, format: Format, r: &ReportArgs) -> Result<(), Fail> {
    let opts = Options { verbose: r.verbose };
    match &r.output {
        Some(path) => {
            let mut f =
                std::fs::File::create(path).map_err(|e| Fail(format!("{}: cannot write: {e}", path.display())))?;
            render(&mut f, d, format, opts).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = render(&mut lock, d, format, opts).and_then(|()| lock.flush());
        }
    }
    Ok(())
}
