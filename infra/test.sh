#!/usr/bin/env bash
# README command 2: runs every test. Installs what is missing; the tests start their own DynamoDB Local and
# SES emulator on free ports (or reuse running ones given as DYNAMODB_ENDPOINT and SES_ENDPOINT).
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

need_rust
need_java
need_chromium
if ! command -v npm >/dev/null; then need_node_modules; fi
# The npm and Python packages install while the Rust code is checked and built (they wait on the
# registries, the compiler on the CPU): on a fresh clone that saves their three minutes.
installs_log="$(mktemp)"
say "Installing the npm and Python packages in the background (npm ci, infra/.venv-*; log: $installs_log)"
( need_node_modules; need_venv tools; need_venv client; need_venv secrets; need_venv fuzz ) >"$installs_log" 2>&1 &
installs=$! fuzz=""
# A run that stops early stops what runs in the background too (an interrupted install starts over next time).
trap 'for job in $installs $fuzz; do kill "$job" 2>/dev/null || true; done' EXIT
say "Checking the format (cargo fmt --check)"
cargo fmt --all --check
# The builds below run the lints too (setup.sh's lints_in_builds), on every target `--all-targets` would
# check: the bins, the libraries with their unit tests, the test crates (there are no examples or benches).
lints_in_builds
# The fuzzing (below) needs only the local stack and the operator command: they are built first, so it
# runs while the function binaries are linked, the pages are checked and the tests are built.
say "Building the local stack and the operator command, with the lints (cargo build --workspace --bin devstack --bin grant-operator; clippy -D warnings)"
cargo build --quiet --workspace --bin devstack --bin grant-operator
say "Waiting for the npm and Python packages"
if ! wait "$installs"; then
  cat "$installs_log" >&2
  echo "installing the npm and Python packages failed (above)" >&2
  exit 1
fi
installs=""
cat "$installs_log"
rm -f "$installs_log"
# A short fuzzing run with a fixed seed (two to three minutes): any server error, any answer that does not match
# openapi.yaml, any undocumented status fails the test command. `bash infra/fuzz.sh` runs longer ones. It
# waits on its requests more than it computes, so the builds and the pages' checks run meanwhile.
fuzz_log="$(mktemp)"
say "Fuzzing the API from openapi.yaml in the background (schemathesis, seed 20261126, 50 examples per operation; log: $fuzz_log)"
FUZZ_BINARIES_BUILT=yes FUZZ_SEED=20261126 bash "$INFRA/fuzz.sh" 50 >"$fuzz_log" 2>&1 &
fuzz=$!
say "Building every Lambda function binary, with the lints (cargo build --workspace --bins; clippy -D warnings)"
cargo build --quiet --workspace --bins
say "Checking the pages' modules: types (tsc), lints (eslint), their pure rules' unit tests (node --test)"
"$INFRA/node_modules/.bin/tsc" -p "$INFRA/tsconfig.json"
"$INFRA/node_modules/.bin/tsc" -p "$INFRA/tsconfig.pages.json"
"$INFRA/node_modules/.bin/eslint" --config "$INFRA/eslint.config.mjs" shared/web
node --test shared/web/
say "Building the tests, with the lints (cargo test --no-run; clippy -D warnings)"
cargo test --quiet --workspace --lib --test integration --test least_privilege --no-run
say "Waiting for the fuzzing"
if ! wait "$fuzz"; then
  cat "$fuzz_log" >&2
  echo "the fuzzing failed (above)" >&2
  exit 1
fi
fuzz=""
cat "$fuzz_log"
rm -f "$fuzz_log"
say "Running the tests: unit tests, then integration and end-to-end tests (cargo test)"
# The integration tests record the AWS actions each function used; the least-privilege test then checks
# that template.yaml grants none that no test needed (the other direction is refused at the call).
export ACTIONS_USED_LOG="$REPO_ROOT/target/actions-used.log"
rm -f "$ACTIONS_USED_LOG"
cargo test --workspace --lib --test integration
say "Checking least privilege: every granted action is used by a tested path (cargo test --test least_privilege)"
cargo test --workspace --test least_privilege
say "Removing what the passed run left in ${TMPDIR:-/tmp} (service logs, browser profiles)"
remove_ended_runs
