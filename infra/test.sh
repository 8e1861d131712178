#!/usr/bin/env bash
# README command 2: runs every test. Installs what is missing; the tests start their own DynamoDB Local and
# SES emulator on free ports (or reuse running ones given as DYNAMODB_ENDPOINT and SES_ENDPOINT).
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

need_rust
need_java
need_node_modules
need_venv tools
need_venv client
say "Building every Lambda function binary (cargo build --workspace --bins)"
cargo build --quiet --workspace --bins
say "Running the tests: unit tests, then integration and end-to-end tests (cargo test)"
cargo test --workspace --lib --test integration
