//! The witness with its cost, for the benchmark (bench/flood.sh) and for checking the BPF object
//! on a kernel by hand: `witness PORT SECONDS [FROM]` prints the number of drops, the flow's
//! packets received, events lost and each program's run time and runs (the kernel's BPF
//! statistics, on while it runs; WITNESS_NO_STATS leaves them off, for measuring the machine's
//! busy time without their clock reads). SIGINT ends it early. `portdoctor trace` is the real command.

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let secs = args.next().and_then(|p| p.parse().ok()).unwrap_or(5);
    let from = args.next().and_then(|f| f.parse().ok()).unwrap_or(portdoctor_model::Source::Internet);
    let req = portdoctor_trace::Request {
        port,
        proto: portdoctor_model::Proto::Tcp,
        from,
        duration: std::time::Duration::from_secs(secs),
        nftrace: false,
    };
    let ready = || {
        let _ = writeln!(std::io::stderr(), "attached");
    };
    let interrupted = portdoctor_trace::interrupt_flag();
    let stop = || interrupted.load(std::sync::atomic::Ordering::Relaxed);
    let hooks = portdoctor_trace::Hooks { ready: &ready, stop: &stop };
    let costs = std::env::var_os("WITNESS_NO_STATS").is_none().then(portdoctor_trace::Costs::measure);
    let line = match portdoctor_trace::trace_costed(&req, &hooks) {
        Ok((r, costs)) => {
            if std::env::var_os("WITNESS_VERBOSE").is_some() {
                for d in &r.drops {
                    let _ = writeln!(std::io::stderr(), "{d:?}");
                }
            }
            let mut line = format!(
                "drops={} packets_seen={} ignored={} lost={}",
                r.drops.len(),
                r.packets_seen,
                r.ignored,
                r.lost
            );
            for c in costs {
                line += &format!(" {}_ns={} {}_runs={}", c.program, c.run_ns, c.program, c.runs);
            }
            line
        }
        Err(e) => format!("error: {e}"),
    };
    drop(costs);
    let _ = writeln!(std::io::stdout(), "{line}");
}
