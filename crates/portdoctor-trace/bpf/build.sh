#!/bin/sh
# Rebuilds the kernel witness's BPF object from its C source. The object is committed, so
# `cargo build` needs no clang; scripts/test runs this and checks the result matches the
# committed object byte for byte (Debian's clang and llvm packages). The debug info (DWARF) is
# stripped: it names this folder's absolute path. BTF and its CO-RE relocations (.BTF,
# .BTF.ext), which the loader needs, stay.
set -eu
cd "$(dirname "$0")"
clang -target bpf -O2 -g -fdebug-prefix-map="$PWD"=. -c witness.c -o witness.o
llvm-strip -g witness.o
