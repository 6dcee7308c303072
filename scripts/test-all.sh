#!/usr/bin/env bash
# Every check CI runs: formatting, lints as errors, all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
