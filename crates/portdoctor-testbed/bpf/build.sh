#!/bin/sh
# Rebuilds the BPF objects the blind-spot scenarios attach (an XDP program and a tc classifier
# that drop every packet) from their LLVM IR, with llc alone: no clang, no kernel headers. The
# objects are committed so a test machine needs no LLVM; the testbed's unit test rebuilds them
# where llc is installed and checks they match.
set -eu
cd "$(dirname "$0")"
for p in xdp_drop tc_drop; do
	llc -march=bpf -filetype=obj -o "$p.o" "$p.ll"
done
