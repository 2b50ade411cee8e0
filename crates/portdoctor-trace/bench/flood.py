#!/usr/bin/env python3
"""The kernel witness under load (issue 16's benchmark; figures in docs/benchmarks.md).

Two namespaces joined by a veth: a client (198.51.100.2, and 198.51.100.3 for the flood) and a
server (198.51.100.1) whose nftables drops TCP to PORT with a counter. While unrelated UDP
floods the server at RATE packets/s (to a closed port: every packet is received *and* dropped,
so both of the witness's programs run on each — its worst case), the client makes PROBES
connection attempts to PORT. Reported: the flood's real rate; the probe flow's SYNs the kernel
dropped (nft counter) against the drops the witness reported (it must miss none); the
witness's cost: its BPF programs' run time (the kernel's BPF statistics) and its own process's
CPU, as a share of one core; and the machine's busy CPU with and without the witness.

Run as root from the repository: python3 crates/portdoctor-trace/bench/flood.py [RATE] [SECONDS] [SENDERS]
(build the examples first: cargo build -p portdoctor-trace --examples).
"""
import os
import subprocess
import sys
import time

RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SENDERS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
PORT = 20999
PROBES = 300
TAG = f"pd-trace-bench-{os.getpid()}"
C, S = f"{TAG}-c", f"{TAG}-s"
ROOT = os.path.dirname(os.path.abspath(__file__))
WITNESS = os.environ.get("WITNESS") or os.path.join(ROOT, "../../../target/debug/examples/witness")

FLOOD = os.environ.get("FLOOD") or os.path.join(ROOT, "../../../target/debug/examples/flood")

PROBE = r"""
import socket, sys, time
n, spread = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    s = socket.socket(); s.settimeout(0.01)
    try: s.connect(("198.51.100.1", %d))
    except OSError: pass
    if len(sys.argv) > 3: print(time.time(), s.getsockname()[1], flush=True)
    s.close(); time.sleep(spread / n)
""" % PORT


def sh(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


def ns(name, *argv, **kw):
    return sh("ip", "netns", "exec", name, *argv, **kw)


def cpu_seconds(pid):
    # `ip netns exec` execs the witness: the pid is its process (utime, stime in ticks).
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)  # (busy, total): idle and iowait are not busy


def setup():
    for n in (C, S):
        sh("ip", "netns", "add", n)
        sh("ip", "-n", n, "link", "set", "lo", "up")
    sh("ip", "link", "add", "eth0", "netns", C, "type", "veth", "peer", "name", "eth0", "netns", S)
    sh("ip", "-n", C, "addr", "add", "198.51.100.2/24", "dev", "eth0")
    sh("ip", "-n", C, "addr", "add", "198.51.100.3/24", "dev", "eth0")
    sh("ip", "-n", S, "addr", "add", "198.51.100.1/24", "dev", "eth0")
    for n in (C, S):
        sh("ip", "-n", n, "link", "set", "eth0", "up")
    # No ICMP port-unreachable storm back to the flood's source (they are rate-limited anyway).
    ns(S, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=1000")
    rules = "table inet bench { chain in { type filter hook input priority 0; ip saddr 198.51.100.2 tcp dport %d counter drop; tcp dport %d counter drop; }; }" % (PORT, PORT)
    ns(S, "nft", "-f", "-", input=rules)


def dropped_syns():
    out = ns(S, "nft", "list", "chain", "inet", "bench", "in")
    counts = [int(part.split()[0]) for part in out.split("counter packets ")[1:]]
    if os.environ.get("WITNESS_VERBOSE"):
        sys.stderr.write(f"counters {counts}\n")
    return sum(counts)


def run(with_witness, stats=True):
    dropped_before = dropped_syns()
    witness = None
    if with_witness:
        env = dict(os.environ) if stats else dict(os.environ, WITNESS_NO_STATS="1")
        witness = subprocess.Popen(
            ["ip", "netns", "exec", S, WITNESS, str(PORT), str(SECONDS + 60), "198.51.100.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert witness.stderr.readline().strip() == "attached"
        cpu_at_attach = cpu_seconds(witness.pid)
    b0, t0 = busy_jiffies()
    start = time.time()
    floods = [subprocess.Popen(["ip", "netns", "exec", C, FLOOD, "198.51.100.3", "198.51.100.1:9",
                                str(RATE // SENDERS), str(SECONDS)], stdout=subprocess.PIPE, text=True)
              for _ in range(SENDERS)]
    verbose = ["v"] if os.environ.get("WITNESS_VERBOSE") else []
    probe = subprocess.Popen(["ip", "netns", "exec", C, sys.executable, "-c", PROBE, str(PROBES), str(SECONDS - 1)] + verbose)
    sent = sum(int(f.communicate()[0]) for f in floods)
    probe.wait()
    if os.environ.get("WITNESS_VERBOSE"):
        sys.stderr.write(f"run start {start:.3f} probe end {time.time():.3f}\n")
    elapsed = time.time() - start
    b1, t1 = busy_jiffies()
    time.sleep(float(os.environ.get("SETTLE", "0.5")))
    # Each sender sends for exactly SECONDS (it says how many it sent); `elapsed` also holds the
    # processes' start and the last probe, so it would understate the rate.
    result = {"flood_pps": sent / SECONDS, "busy": (b1 - b0) / (t1 - t0), "elapsed": elapsed}
    if witness:
        # While watching, not loading (BTF and kallsyms are read once, before "attached").
        result["witness_cpu_s"] = cpu_seconds(witness.pid) - cpu_at_attach
        witness.send_signal(2)  # SIGINT: the example stops (it would run a minute) and reports
        out, err = witness.communicate()
        out = out.strip()
        if os.environ.get("WITNESS_VERBOSE"):
            sys.stderr.write(err)
        result.update(dict(kv.split("=") for kv in out.split()))
    # Read after the witness ended: nothing else runs in the namespace while it watches.
    result["syns_dropped"] = dropped_syns() - dropped_before
    return result


def main():
    try:
        setup()
        base = run(False)
        traced = run(True)
        # The statistics' own clock reads cost CPU too: the machine's busy time is compared on a
        # run with them off.
        plain = run(True, stats=False)
        bpf_ns = sum(int(v) for k, v in traced.items() if k.endswith("_ns"))
        print(f"flood: {base['flood_pps']:.0f} pps without the witness, {traced['flood_pps']:.0f} pps with it")
        print(f"probe flow: {traced['syns_dropped']} SYNs dropped by the kernel (nft counter), "
              f"{traced['drops']} reported by the witness, {traced['lost']} lost, {traced['ignored']} ignored")
        runs = int(traced.get("witness_rx_runs", 0)) + int(traced.get("witness_drop_runs", 0))
        print(f"BPF run time: {bpf_ns / 1e6:.1f} ms in {SECONDS} s = {100 * bpf_ns / (SECONDS * 1e9):.2f}% of one core "
              f"({traced.get('witness_rx_runs')} rx runs, {traced.get('witness_drop_runs')} drop runs, "
              f"{bpf_ns / max(runs, 1):.0f} ns a run)")
        print(f"machine busy: {100 * base['busy']:.1f}% without the witness, {100 * plain['busy']:.1f}% with it "
              f"(statistics off), {100 * traced['busy']:.1f}% with it and its statistics ({os.cpu_count()} cores)")
        print(f"witness process while watching (polling, naming): {traced['witness_cpu_s']:.2f} s CPU "
              f"= {100 * traced['witness_cpu_s'] / SECONDS:.2f}% of one core")
        ok = all(r["syns_dropped"] == int(r["drops"]) and int(r["lost"]) == 0 for r in (traced, plain))
        print("witness missed none of the flow's drops" if ok else "MISSED DROPS")
        sys.exit(0 if ok else 1)
    finally:
        for n in (C, S):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


if __name__ == "__main__":
    main()
