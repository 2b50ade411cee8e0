//! Loading and attaching the BPF object (bpf/witness.o) with aya, and reading what it reports.
//!
//! The program is BTF-enabled (`tp_btf/kfree_skb`): it attaches by the kernel's BTF id, so no
//! tracefs mount is needed (`ip netns exec` hides it), and its accesses to `struct sk_buff` are
//! CO-RE relocations aya rewrites from /sys/kernel/btf/vmlinux at load time.

use crate::TraceError;
use crate::event::RawDrop;
use aya::maps::{Array, MapData, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use portdoctor_model::{Cidr, Proto};
use std::net::IpAddr;

/// Compiled from bpf/witness.c by bpf/build.sh (committed; scripts/test checks it is current).
static OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/witness.o");

/// The program on `kfree_skb` that fits the kernel (bpf/witness.c has one of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropProgram {
    /// Linux 5.17 and later: the tracepoint carries the drop reason.
    WithReason,
    /// Linux 5.5 to 5.16: skb and location only (the verifier refuses reading a third
    /// argument the tracepoint does not have).
    LocationOnly,
}

impl DropProgram {
    fn name(self) -> &'static str {
        match self {
            DropProgram::WithReason => "witness_drop",
            DropProgram::LocationOnly => "witness_drop_location",
        }
    }
}

/// The flow the kernel filters on.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub port: u16,
    pub proto: Proto,
    /// The client side's addresses; `None` for any.
    pub from: Option<Cidr>,
}

/// The program's address filter: family (0 for any), address and mask, as on the wire.
fn address_filter(from: Option<Cidr>) -> (u8, [u8; 16], [u8; 16]) {
    let Some(c) = from else { return (0, [0; 16], [0; 16]) };
    let (family, bytes, width) = match c.addr() {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            (4u8, b, 32u32)
        }
        IpAddr::V6(a) => (6u8, a.octets(), 128u32),
    };
    let prefix = u32::from(c.prefix()).min(width);
    let mut mask = [0u8; 16];
    for (i, m) in mask.iter_mut().enumerate() {
        let bits = prefix.saturating_sub(8 * i as u32).min(8);
        *m = if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
    }
    let mut addr = bytes;
    for (a, m) in addr.iter_mut().zip(mask) {
        *a &= m;
    }
    (family, addr, mask)
}

/// The CPU one program took while the witness ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramCost {
    pub program: String,
    pub run_ns: u64,
    pub runs: u64,
}

/// The kernel's BPF run-time statistics, on while this lives (BPF_ENABLE_STATS: released with
/// the file descriptor, no sysctl changed). For the benchmark.
pub struct Costs(#[allow(dead_code)] std::os::fd::OwnedFd);

impl Costs {
    pub fn measure() -> Result<Costs, TraceError> {
        aya::sys::enable_stats(aya::sys::Stats::RunTime).map(Costs).map_err(|e| refused("enabling BPF statistics", e))
    }
}

pub struct Witness {
    // Owns the programs and their links: dropping it detaches them.
    _ebpf: Ebpf,
    events: RingBuf<MapData>,
    counters: Array<MapData, u64>,
}

fn refused(what: &str, e: impl std::fmt::Display) -> TraceError {
    TraceError {
        problem: format!("the kernel refused the witness ({what}: {e})"),
        remedy: "run as root on a kernel with BTF (CONFIG_DEBUG_INFO_BTF=y) and BPF ring buffers (Linux 5.8 or later)"
            .into(),
    }
}

impl Witness {
    pub fn attach(flow: Flow, drop_program: DropProgram) -> Result<Witness, TraceError> {
        let btf = Btf::from_sys_fs().map_err(|e| refused("reading /sys/kernel/btf/vmlinux", e))?;
        let (family, from, mask) = address_filter(flow.from);
        let proto: u8 = flow.proto.number();
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("cfg_port", &flow.port, true)
            .override_global("cfg_proto", &proto, true)
            .override_global("cfg_from_family", &family, true)
            .override_global("cfg_from", &from, true)
            .override_global("cfg_mask", &mask, true)
            .load(OBJECT)
            .map_err(|e| refused("loading the BPF object", e))?;
        for (name, tracepoint) in [(drop_program.name(), "kfree_skb"), ("witness_rx", "netif_receive_skb")] {
            let program: &mut BtfTracePoint = ebpf
                .program_mut(name)
                .ok_or_else(|| refused("the object", format!("no program {name}")))?
                .try_into()
                .map_err(|e| refused(name, e))?;
            program.load(tracepoint, &btf).map_err(|e| refused(&format!("tracepoint {tracepoint}"), e))?;
            program.attach().map_err(|e| refused(&format!("attaching to {tracepoint}"), e))?;
        }
        let mut map = |name: &str| ebpf.take_map(name).ok_or_else(|| refused("the object", format!("no map {name}")));
        let events = RingBuf::try_from(map("events")?).map_err(|e| refused("events", e))?;
        let counters = Array::try_from(map("counters")?).map_err(|e| refused("counters", e))?;
        Ok(Witness { _ebpf: ebpf, events, counters })
    }

    /// The drops reported since the last call (the ring buffer is read without blocking).
    pub fn drain(&mut self, mut each: impl FnMut(RawDrop)) {
        while let Some(item) = self.events.next() {
            if let Some(d) = RawDrop::parse(&item) {
                each(d);
            }
        }
    }

    /// What each program cost so far (run time and runs), counted only while the kernel's BPF
    /// statistics are on (`Costs::measure`).
    pub fn costs(&self) -> Vec<ProgramCost> {
        self._ebpf
            .programs()
            .filter_map(|(name, p)| {
                let info = p.info().ok()?;
                Some(ProgramCost {
                    program: name.to_string(),
                    run_ns: info.run_time().as_nanos() as u64,
                    runs: info.run_count(),
                })
            })
            .collect()
    }

    /// (the flow's packets received, drop events lost to a full ring buffer, drop events sent).
    pub fn counters(&self) -> (u64, u64, u64) {
        let get = |i| self.counters.get(&i, 0).unwrap_or(0);
        (get(0), get(1), get(2))
    }
}

#[cfg(test)]
mod tests {
    use super::address_filter;
    use portdoctor_model::Cidr;

    #[test]
    fn a_prefix_becomes_an_address_and_mask_on_the_wire() {
        let c: Cidr = "198.51.100.77/23".parse().expect("a cidr");
        let (family, addr, mask) = address_filter(Some(c));
        assert_eq!(family, 4);
        assert_eq!(&addr[..4], &[198, 51, 100, 0]);
        assert_eq!(&mask[..5], &[255, 255, 254, 0, 0]);
        let c: Cidr = "2001:db8::1/128".parse().expect("a cidr");
        let (family, _, mask) = address_filter(Some(c));
        assert_eq!((family, mask), (6, [0xff; 16]));
        assert_eq!(address_filter(None).0, 0);
    }
}

#[cfg(test)]
mod object_tests {
    /// The committed object is what bpf/build.sh makes of bpf/witness.c, where clang and
    /// llvm-strip are installed (scripts/test installs them); elsewhere it is used as committed.
    #[test]
    fn the_committed_object_matches_its_source() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf");
        let out = std::env::temp_dir().join(format!("pd-witness-{}.o", std::process::id()));
        match std::process::Command::new("sh").arg(dir.join("build.sh")).arg(&out).status() {
            Ok(s) if s.success() => {
                let built = std::fs::read(&out).unwrap_or_default();
                std::fs::remove_file(&out).ok();
                assert!(built == super::OBJECT, "bpf/witness.o is stale: run bpf/build.sh");
            }
            _ if std::process::Command::new("clang").arg("--version").output().is_err() => {
                eprintln!("clang not available: bpf/witness.o used as committed");
            }
            other => panic!("bpf/build.sh failed: {other:?}"),
        }
    }
}
