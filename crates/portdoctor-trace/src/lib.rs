//! The kernel witness (`portdoctor trace`, issue 16): while it runs, every packet of one flow
//! the kernel drops, with the kernel's own drop reason and the function that dropped it.
//!
//! Layer: beside collect, used only by the binary; depends on portdoctor-model alone, so the
//! pure crates never build the BPF loader. A BPF program on the BTF-enabled tracepoint
//! `skb:kfree_skb` (bpf/witness.c, compiled object committed) reads each freed skb's IP and
//! TCP/UDP headers and keeps, in the kernel, only the flow's packets: to the port from the client
//! and from the port to it, plus any packet naming a client seen arriving for the flow (so a drop
//! after DNAT changed the server side still counts). Reason names come from the running kernel's
//! BTF (`enum skb_drop_reason` is not UAPI), locations from /proc/kallsyms.
//! The report is joined with the modelled verdict by the engine (`portdoctor_engine::witness`):
//! reasoning, not kernel work.

mod btf;
mod counters;
mod event;
mod kallsyms;
mod nftrace;
mod text;
mod witness;

use event::RawDrop;
use portdoctor_model::trace::{KernelDrop, TraceQuery, TraceReport, TraceTool};
use portdoctor_model::{Proto, Source};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use portdoctor_model::trace::TraceError;
pub use text::render as render_text;
pub use witness::{Costs, DropProgram, Flow, ProgramCost};

/// Where the running kernel's BTF is.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Set (to anything) to load the location-only program even where the kernel gives reasons:
/// the tests run on a kernel with reasons, and this is how they prove the program older
/// kernels (5.5 to 5.16) get loads and reports the location. Not for users: it only loses
/// information.
pub const LOCATION_ONLY_ENV: &str = "PORTDOCTOR_TRACE_LOCATION_ONLY";

/// A flag that SIGINT (Ctrl-C) and SIGTERM raise, for `Hooks::stop`: the run ends early with
/// its report instead of the process dying mid-way.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Failing to register only loses the early end: the default (exit) still applies.
        let _ = signal_hook::flag::register(sig, std::sync::Arc::clone(&flag));
    }
    flag
}

pub struct Request {
    pub port: u16,
    pub proto: Proto,
    pub from: Source,
    pub duration: Duration,
    /// Also mark the flow for nftables tracing (a temporary table) to name the dropping rule.
    pub nftrace: bool,
}

/// Called while the witness runs: `ready` once it is attached (probes may start), `stop` often
/// (true ends the run early, e.g. on Ctrl-C).
pub struct Hooks<'a> {
    pub ready: &'a dyn Fn(),
    pub stop: &'a dyn Fn() -> bool,
}

/// Capabilities a process needs to load and attach the program: CAP_SYS_ADMIN, or CAP_BPF with
/// CAP_PERFMON (Linux 5.8+). Read from /proc/self/status; unreadable means "try and see".
fn privileged(status: &str) -> bool {
    let Some(eff) = status.lines().find_map(|l| l.strip_prefix("CapEff:")) else { return true };
    let Ok(caps) = u64::from_str_radix(eff.trim(), 16) else { return true };
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    has(21) || (has(39) && has(38))
}

/// Drops of healthy traffic (FACTS.md "The kernel witness"): a segment reaching a TIME_WAIT
/// socket is freed as NOT_SPECIFIED in tcp_v4_rcv/tcp_v6_rcv, a closing socket purges its
/// queues (QUEUE_PURGE). Never blockers. Without a reason (before 5.17) nothing is known to be
/// noise: a drop at tcp_v4_rcv may as well be nothing listening.
fn is_noise(reason: Option<&str>, location: &str) -> bool {
    match reason {
        Some(r) => r == "QUEUE_PURGE" || (r == "NOT_SPECIFIED" && matches!(location, "tcp_v4_rcv" | "tcp_v6_rcv")),
        None => false,
    }
}

/// The kfree_skb program for the kernel whose BTF is `vmlinux`: by the tracepoint's arguments
/// (`btf_trace_kfree_skb`: `__data, skb, location` before 5.17, then `reason` too), unless
/// LOCATION_ONLY_ENV asks for the location-only one.
fn drop_program(vmlinux: &[u8], force_location_only: bool) -> Result<DropProgram, TraceError> {
    let no_tracepoint = |why: String| TraceError {
        problem: format!("this kernel's BTF has no usable kfree_skb tracepoint ({why})"),
        remedy: "use Linux 5.5 or later with CONFIG_DEBUG_INFO_BTF=y".into(),
    };
    match btf::tracepoint_params(vmlinux, "btf_trace_kfree_skb").map_err(no_tracepoint)? {
        None => Err(no_tracepoint("no btf_trace_kfree_skb".into())),
        Some(n) if n >= 4 && !force_location_only => Ok(DropProgram::WithReason),
        Some(n) if n >= 3 => Ok(DropProgram::LocationOnly),
        Some(n) => Err(no_tracepoint(format!("btf_trace_kfree_skb takes {n} arguments"))),
    }
}

/// RFC 3339 UTC to the millisecond.
fn rfc3339_ms(unix_ms: u64) -> String {
    let secs = portdoctor_model::time::Timestamp(i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX)).to_string();
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), unix_ms % 1000)
}

/// Milliseconds since the epoch at boot (CLOCK_BOOTTIME zero), from /proc/uptime: event times
/// are boot-clock nanoseconds. Good to /proc/uptime's hundredth of a second.
fn boot_epoch_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let up = std::fs::read_to_string("/proc/uptime").ok();
    let up_ms = up.as_deref().and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse::<f64>().ok());
    now.saturating_sub(up_ms.map_or(0, |s| (s * 1000.0) as u64))
}

/// What names reasons and locations: the kernel's BTF and symbols, read once per run.
struct Namer {
    reasons: HashMap<u32, String>,
    symbols: kallsyms::Symbols,
    boot_epoch_ms: u64,
}

impl Namer {
    fn read(vmlinux: &[u8]) -> Namer {
        let reasons = btf::enum_names(vmlinux, "skb_drop_reason", "SKB_DROP_REASON_").unwrap_or_default();
        let symbols = kallsyms::Symbols::parse(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default());
        Namer { reasons, symbols, boot_epoch_ms: boot_epoch_ms() }
    }

    fn name(&self, d: RawDrop) -> KernelDrop {
        KernelDrop::new(
            rfc3339_ms(self.boot_epoch_ms + d.boot_ns / 1_000_000),
            d.reason.map(|r| self.reasons.get(&r).cloned().unwrap_or_else(|| r.to_string())),
            self.symbols.resolve(d.location).map_or_else(|| format!("{:#x}", d.location), str::to_string),
            d.packet,
            d.interface,
        )
    }
}

/// Gives each NETFILTER_DROP the rule nftables tracing saw dropping the same packet (same
/// addresses and ports, in order).
fn name_rules(drops: &mut [KernelDrop], mut rules: Vec<nftrace::RuleDrop>) {
    for d in drops.iter_mut().filter(|d| d.is_netfilter()) {
        let p = &d.packet;
        let same = |r: &nftrace::RuleDrop| {
            let (src, sport, dst, dport) = r.tuple;
            src.to_string() == p.src && dst.to_string() == p.dst && sport == p.sport && dport == p.dport
        };
        let Some(i) = rules.iter().position(same) else { continue };
        let r = rules.remove(i);
        let (hook, rule) = nftrace::chain_and_rule(&r.family, &r.table, &r.chain, r.rule_handle);
        d.hook = hook;
        d.family = Some(r.family);
        d.table = Some(r.table);
        d.chain = Some(r.chain);
        d.rule_handle = r.rule_handle;
        d.rule = rule;
    }
}

/// Runs the witness for `req.duration` (or until `hooks.stop`) and reports the flow's drops.
pub fn trace(req: &Request, hooks: &Hooks) -> Result<TraceReport, TraceError> {
    trace_costed(req, hooks).map(|(r, _)| r)
}

/// `trace`, and what its programs cost the kernel (zero unless a `Costs` is alive).
pub fn trace_costed(req: &Request, hooks: &Hooks) -> Result<(TraceReport, Vec<ProgramCost>), TraceError> {
    if !privileged(&std::fs::read_to_string("/proc/self/status").unwrap_or_default()) {
        return Err(TraceError {
            problem: "trace loads a BPF program into the kernel, which needs privilege".into(),
            remedy: "run it as root (sudo portdoctor trace …), or with CAP_BPF and CAP_PERFMON".into(),
        });
    }
    let vmlinux = std::fs::read(VMLINUX_BTF).map_err(|e| TraceError {
        problem: format!("this kernel has no readable BTF ({VMLINUX_BTF}: {e})"),
        remedy: "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (every major distribution's since 2020)".into(),
    })?;
    let program = drop_program(&vmlinux, std::env::var_os(LOCATION_ONLY_ENV).is_some())?;
    let from = match req.from {
        Source::Internet => None,
        Source::Prefix(c) => Some(c),
    };
    let flow = Flow { port: req.port, proto: req.proto, from };
    let mut witness = witness::Witness::attach(flow, program)?;
    // After the witness: a refused BPF load leaves no table behind. Removed on drop (errors).
    let mut nf = if req.nftrace { Some(nftrace::NfTrace::start(&flow)?) } else { None };
    let mut rule_drops = Vec::new();
    let namer = Namer::read(&vmlinux);
    drop(vmlinux);
    let counted_before = counters::read();
    let started = Instant::now();
    (hooks.ready)();
    let mut drops = Vec::new();
    let mut ignored = 0;
    let mut received: u64 = 0;
    let mut take = |d: RawDrop| {
        received += 1;
        let d = namer.name(d);
        if is_noise(d.reason.as_deref(), &d.location) {
            ignored += 1;
        } else {
            drops.push(d);
        }
    };
    while started.elapsed() < req.duration && !(hooks.stop)() {
        witness.drain(&mut take);
        if let Some(nf) = &mut nf {
            rule_drops.extend(nf.drain());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Counted before the last read: every event the kernel counted as sent is in the buffer by
    // then, so one it sent that never arrived here is counted as lost too.
    let (packets_seen, kernel_lost, sent) = witness.counters();
    let counters = counters::rose(&counted_before, &counters::read());
    witness.drain(&mut take);
    if let Some(mut nf) = nf {
        rule_drops.extend(nf.drain());
        nf.remove()?;
        name_rules(&mut drops, rule_drops);
    }
    let lost = kernel_lost + sent.saturating_sub(received);
    let report = TraceReport {
        schema_version: 1,
        tool: TraceTool { name: "portdoctor".into(), version: env!("CARGO_PKG_VERSION").into() },
        query: TraceQuery {
            command: "trace".into(),
            port: req.port,
            protocol: req.proto,
            from: req.from.to_string(),
            duration_ms: started.elapsed().as_millis() as u64,
        },
        packets_seen,
        drops,
        ignored,
        lost,
        counters,
    };
    Ok((report, witness.costs()))
}

#[cfg(test)]
mod tests {
    use super::{DropProgram, drop_program, is_noise, privileged, rfc3339_ms};

    /// The program follows the tracepoint's arguments on this machine's kernel (it has
    /// reasons), and the location-only one is chosen when asked for.
    #[test]
    fn the_kernels_btf_chooses_the_drop_program() {
        let before_5_17 = crate::btf::tests::blob();
        assert_eq!(drop_program(&before_5_17, false), Ok(DropProgram::LocationOnly));
        let Ok(b) = std::fs::read(super::VMLINUX_BTF) else { return };
        assert_eq!(drop_program(&b, false), Ok(DropProgram::WithReason));
        assert_eq!(drop_program(&b, true), Ok(DropProgram::LocationOnly));
        assert!(drop_program(b"not btf", false).is_err_and(|e| e.remedy.contains("Linux 5.5")));
    }

    #[test]
    fn capabilities_decide_privilege() {
        assert!(privileged("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        assert!(!privileged("CapEff:\t0000000000000000\n"));
        assert!(privileged("CapEff:\t000000c000000000\n"), "CAP_BPF with CAP_PERFMON");
        assert!(!privileged("CapEff:\t0000008000000000\n"), "CAP_BPF alone");
    }

    #[test]
    fn healthy_traffics_drops_are_noise() {
        assert!(is_noise(Some("NOT_SPECIFIED"), "tcp_v4_rcv"));
        assert!(is_noise(Some("QUEUE_PURGE"), "tcp_v4_rcv"));
        assert!(!is_noise(Some("NOT_SPECIFIED"), "do_xdp_generic"));
        assert!(!is_noise(Some("NO_SOCKET"), "tcp_v4_rcv"));
        assert!(!is_noise(None, "tcp_v4_rcv"), "without a reason it may be nothing listening");
    }

    #[test]
    fn times_are_utc_to_the_millisecond() {
        assert_eq!(rfc3339_ms(1_764_860_400_123), "2025-12-04T15:00:00.123Z");
    }
}
