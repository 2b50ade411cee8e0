#!/bin/sh
# Rebuilds the kernel witness's BPF object from its C source (into OUT, default witness.o). The
# object is committed, so `cargo build` needs no clang; the crate's unit test (run by
# scripts/test, which installs Debian's clang and llvm) builds it again and checks it matches
# byte for byte. The DWARF is stripped: it would name this folder's absolute path. BTF and its
# CO-RE relocations (.BTF, .BTF.ext), which the loader needs, stay.
set -eu
out=$(realpath -m "${1:-$(dirname "$0")/witness.o}")
cd "$(dirname "$0")"
clang -target bpf -O2 -g -fdebug-prefix-map="$PWD"=. -c witness.c -o "$out"
llvm-strip -g "$out"
