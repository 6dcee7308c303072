#!/usr/bin/env bash
# The core's parsers and decoders under libFuzzer (cargo-fuzz, nightly):
# every target in fuzz/ for SECONDS each (default 30), starting from the
# committed corpus in fuzz/corpus/<target>. New inputs it finds go to a
# scratch corpus under fuzz/target, not into the repository; a crash stops
# the run and leaves the input in fuzz/artifacts/<target>/ — add it to the
# target's corpus (it then runs in every `cargo test` through
# tests/tests/fuzz_corpus.rs) and fix the bug.
#
# Without a nightly toolchain or cargo-fuzz this says so and exits 0: the
# stable replay of the same corpora runs in `cargo test` regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz-core.sh [SECONDS per target, > 0]" >&2
    exit 2
fi
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz-core: no nightly toolchain here; the stable corpus replay (cargo test) stands in"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-core: cargo-fuzz is not installed (cargo install cargo-fuzz --version 0.13.1 --locked)"
    exit 0
fi
targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
cargo +nightly fuzz build --fuzz-dir fuzz
for t in $targets; do
    scratch="fuzz/target/corpus/$t"
    mkdir -p "$scratch"
    log="fuzz/target/$t.log"
    start=$(date +%s)
    if ! cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$scratch" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz-core: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    echo "fuzz-core: $t clean: $runs runs in $(( $(date +%s) - start )) s, coverage $cov edges"
done
