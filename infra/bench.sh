#!/usr/bin/env bash
# The benchmark (not part of the test command): builds release binaries of every function, runs the
# representative operations under the Lambda runtime API emulator against DynamoDB Local, and writes
# docs/performance.md. Installs what it needs first, as the test command does.
# BENCH_ONLY=list_users,audit_log bash infra/bench.sh: the floor and those rows only, printed, docs untouched.
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

need_rust
need_java
need_node_modules
need_venv secrets
say "Building release binaries of every function (cargo build --release --workspace --bins)"
cargo build --quiet --release --workspace --bins
say "Running the benchmark (cargo run --release -p tests --bin bench); it writes docs/performance.md"
cargo run --quiet --release -p tests --bin bench
