#!/usr/bin/env bash
# README command 1: runs the whole system on this machine. Installs what is missing, starts DynamoDB Local,
# the SES v2 emulator and a local Secrets Manager (moto, holding the session and token secrets), creates the table from
# template.yaml, and serves every route of template.yaml on one localhost port. Ctrl-C stops everything. Arguments go to devstack (--port, --dynamodb-port,
# --ses-port, --secrets-manager-port, --table).
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

need_rust
need_disk 4 # the local stack's build: the dependencies and devstack, debug
need_java
need_node_modules
need_venv client   # the webknossos Python client, for trying the API (README "Try it")
need_venv secrets  # moto, the local Secrets Manager that holds the two secrets
say "Building the local stack (cargo build --workspace --bin devstack: the workspace's features, so the test command builds nothing again)"
cargo build --quiet --workspace --bin devstack
exec "$REPO_ROOT/target/debug/devstack" "$@"
