#!/usr/bin/env bash
# Fuzzes phscan with cargo-fuzz (libFuzzer + AddressSanitizer). Not part of CI: CI
# runs only the saved crashing inputs (tests/fuzz_regressions.rs).
#
#   fuzz/run.sh [TARGET] [SECONDS]
#
# TARGET is decode_hash, hashset, json_path, archive_walk, or all (the default: each in turn);
# SECONDS is how long to fuzz each target (default 600). One process, one job:
# the fuzzer uses one core. Extra libFuzzer options go in FUZZ_ARGS (for example
# FUZZ_ARGS="-max_len=65536", which replaces the default of 131072), extra cargo-fuzz options in FUZZ_CARGO_ARGS (for
# example FUZZ_CARGO_ARGS=--debug-assertions, to fuzz with overflow checks on).
#
# It installs cargo-fuzz if it is missing, regenerates the seed corpora in
# fuzz/seeds/ (from tests/fixtures, tests/fixtures-hostile and hashsets/, plus small
# made inputs; see examples/fuzz_seeds.rs), and keeps what the fuzzer finds in
# fuzz/corpus/<target>/ (reused by the next run). A crashing input is written to
# fuzz/artifacts/<target>/; the log of each run to fuzz/logs/<target>.log.
#
# Toolchain: cargo-fuzz needs nightly-only compiler flags (-Z sanitizer=address and
# the coverage instrumentation). By default the stable toolchain, the one phscan is
# built and tested with, is told to accept them with RUSTC_BOOTSTRAP=1 (how a stable
# compiler enables unstable features; fine for a test tool, and phscan itself is
# never built so). FUZZ_TOOLCHAIN=nightly uses an installed nightly toolchain
# instead (a separate, full build).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(decode_hash hashset json_path archive_walk)
target=${1:-all}
secs=${2:-600}
case "$target" in
all) targets=("${all[@]}") ;;
decode_hash | hashset | json_path | archive_walk) targets=("$target") ;;
*)
    echo "usage: fuzz/run.sh [decode_hash|hashset|json_path|archive_walk|all] [SECONDS]" >&2
    exit 2
    ;;
esac
[[ "$secs" =~ ^[0-9]+$ ]] || {
    echo "SECONDS must be a whole number, not '$secs'" >&2
    exit 2
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain=()
case "${FUZZ_TOOLCHAIN:-stable}" in
stable)
    export RUSTC_BOOTSTRAP=1
    echo "== toolchain: the default (stable), with RUSTC_BOOTSTRAP=1"
    ;;
nightly*)
    toolchain=("+$FUZZ_TOOLCHAIN")
    echo "== toolchain: $FUZZ_TOOLCHAIN"
    ;;
*)
    echo "FUZZ_TOOLCHAIN must be stable or nightly[-DATE], not '$FUZZ_TOOLCHAIN'" >&2
    exit 2
    ;;
esac

echo "== seeds"
cargo run --quiet --release --example fuzz_seeds -- . fuzz/seeds

mkdir -p fuzz/logs
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    # Inputs up to 128 KiB: room for a 1024x1024 JPEG (the fast plan's reduced
    # decode), while small inputs keep the executions per second up.
    opts=(-max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -max_len=131072 -print_final_stats=1)
    if [[ -f "fuzz/dicts/$t.dict" ]]; then
        opts+=(-dict="fuzz/dicts/$t.dict")
    fi
    # shellcheck disable=SC2206 # FUZZ_ARGS and FUZZ_CARGO_ARGS are word lists
    opts+=(${FUZZ_ARGS:-})
    # AddressSanitizer replaces malloc, so phscan's M_PERTURB setting (decode::fix_heap_contents)
    # has no effect here: have it fill every new block with a fixed byte instead.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_malloc_fill_size=2147483647"
    echo "== fuzzing $t for ${secs}s (log: fuzz/logs/$t.log)"
    # shellcheck disable=SC2206
    if cargo "${toolchain[@]}" fuzz run ${FUZZ_CARGO_ARGS:-} "$t" \
        "fuzz/corpus/$t" "fuzz/seeds/$t" -- "${opts[@]}" \
        >"fuzz/logs/$t.log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "fuzz/logs/$t.log" || true
        grep -E '^#[0-9]+' "fuzz/logs/$t.log" | tail -1 || true
    else
        status=1
        echo "!! $t failed; the end of its log:" >&2
        tail -40 "fuzz/logs/$t.log" >&2
        echo "!! inputs found: fuzz/artifacts/$t/ (minimise with: RUSTC_BOOTSTRAP=1 cargo fuzz tmin $t <file>;" >&2
        echo "!! then keep it under tests/fuzz-regressions/$t/)" >&2
    fi
done
exit "$status"
