#!/usr/bin/env bash
# README command 2: runs every test. Installs what is missing; the tests start their own DynamoDB Local and
# SES emulator on free ports (or reuse running ones given as DYNAMODB_ENDPOINT and SES_ENDPOINT).
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

need_rust
need_disk 8 # a clean clone's run writes about 7 GB: target/debug 6.1, the Python and npm packages 1.3
need_java
need_chromium
if ! command -v npm >/dev/null; then need_node_modules; fi
# The npm and Python packages install while the Rust code is checked and built (they wait on the
# registries, the compiler on the CPU): on a fresh clone that saves their three minutes.
installs_log="$(mktemp)"
# The pages' checks need only the npm packages: they run once those are in, on the CPU the first build's
# longest chain (one crate after another) leaves idle, at a lower priority.
say "Installing the npm and Python packages in the background (npm ci, infra/.venv-*; log: $installs_log), then checking the pages' modules: types (tsc), lints (eslint), their pure rules' unit tests (node --test), at nice 10"
(
  set -e
  need_node_modules
  nice -n 10 "$INFRA/node_modules/.bin/tsc" -p "$INFRA/tsconfig.json"
  nice -n 10 "$INFRA/node_modules/.bin/tsc" -p "$INFRA/tsconfig.pages.json"
  nice -n 10 "$INFRA/node_modules/.bin/eslint" --config "$INFRA/eslint.config.mjs" shared/web
  nice -n 10 node --test shared/web/
  need_venv tools; need_venv client; need_venv secrets; need_venv fuzz
) >"$installs_log" 2>&1 &
installs=$! fuzz="" background=""
# A run that stops early stops what runs in the background too (an interrupted install starts over next time).
trap 'for job in $installs; do kill "$job" 2>/dev/null || true; done; for group in $fuzz; do kill -- -"$group" 2>/dev/null || true; done' EXIT
say "Checking the format (cargo fmt --check)"
cargo fmt --all --check
# The builds below run the lints too (setup.sh's lints_in_builds), on every target `--all-targets` would
# check: the bins, the libraries with their unit tests, the test crates (there are no examples or benches).
lints_in_builds
# The fuzzing (below) needs only the local stack and the operator command: they are built first, so it
# runs while the tests are built, and on into the tests' run.
say "Building the local stack and its commands, with the lints (cargo build --workspace --bin devstack --bin grant-operator --bin check-invariants --bin restore-table; clippy -D warnings)"
cargo build --quiet --workspace --bin devstack --bin grant-operator --bin check-invariants --bin restore-table
say "Waiting for the npm and Python packages and the pages' checks"
if ! wait "$installs"; then
  cat "$installs_log" >&2
  echo "installing the npm and Python packages or checking the pages failed (above)" >&2
  exit 1
fi
installs=""
cat "$installs_log"
rm -f "$installs_log"
# A short fuzzing run with a fixed seed (30 examples per operation: two to three minutes; 50 took over four,
# on the CPU the tests need): any server error, any answer that does not match openapi.yaml, any
# undocumented status fails the test command. `bash infra/fuzz.sh` runs longer ones. It
# waits on its requests more than it computes, so the tests are built meanwhile.
fuzz_log="$(mktemp)"
say "Fuzzing the API from openapi.yaml in the background (schemathesis, seed 20261126, 30 examples per operation; log: $fuzz_log)"
# In its own process group (job control), so an early stop stops all of it. It keeps its priority when the
# tests start: lowered to nice 19 there, it stretched over most of the tests' run, which was no faster
# (one clean clone each, on slightly different code: 17m19s lowered, 16m54s not).
set -m
FUZZ_BINARIES_BUILT=yes FUZZ_SEED=20261126 bash "$INFRA/fuzz.sh" 30 >"$fuzz_log" 2>&1 &
fuzz=$!
set +m
say "Building the tests, with the lints (cargo test --no-run; clippy -D warnings)"
# The test executables are run directly below, each where `cargo test` runs it (its package's folder):
# `cargo test` would wait for the function binaries' build to release the build directory's lock first.
test_executables="$(mktemp)"
cargo test --quiet --workspace --lib --test integration --test least_privilege --no-run \
  --message-format=json-render-diagnostics | python3 -c '
import json, os, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["profile"]["test"] and message.get("executable"):
        target = message["target"]
        name = "lib" if "lib" in target["kind"] else target["name"]
        print(os.path.dirname(message["manifest_path"]), name, message["executable"], sep="\t")
' >"$test_executables"
# run_tests NAME [ARGS...]: runs the test executables of the test target NAME (lib: every library's unit tests).
run_tests() {
  local name="$1" dir target executable
  shift
  while IFS=$'\t' read -r dir target executable; do
    if [ "$name" = "$target" ]; then
      (cd "$dir" && "$executable" "$@")
    fi
  done <"$test_executables"
}
# The tests leave some of the CPU idle (they wait on the local services): the function binaries are built
# meanwhile, at a lower CPU priority, and the one test that starts the function binaries runs after them.
# In its own process group (job control), so an early stop stops all of it.
background_log="$(mktemp)"
say "Building every Lambda function binary, with the lints (cargo build --workspace --bins; clippy -D warnings), in the background at nice 10 (log: $background_log)"
set -m
nice -n 10 cargo build --quiet --workspace --bins >"$background_log" 2>&1 &
background=$!
set +m
trap 'for group in $fuzz $background; do kill -- -"$group" 2>/dev/null || true; done' EXIT
say "Running the tests: unit tests, then integration and end-to-end tests, all but the one that starts every function binary"
# The integration tests record the AWS actions each function used; the least-privilege test then checks
# that template.yaml grants none that no test needed (the other direction is refused at the call).
export ACTIONS_USED_LOG="$REPO_ROOT/target/actions-used.log"
rm -f "$ACTIONS_USED_LOG"
BINARIES_TEST=binaries::every_function_binary_answers_its_sample_event
run_tests lib
run_tests integration --skip "$BINARIES_TEST"
say "Waiting for the function binaries"
if ! wait "$background"; then
  cat "$background_log" >&2
  echo "building the function binaries failed (above)" >&2
  exit 1
fi
background=""
cat "$background_log"
rm -f "$background_log"
say "Waiting for the fuzzing"
if ! wait "$fuzz"; then
  cat "$fuzz_log" >&2
  echo "the fuzzing failed (above)" >&2
  exit 1
fi
fuzz=""
cat "$fuzz_log"
rm -f "$fuzz_log"
say "Running the test that starts every function binary ($BINARIES_TEST)"
run_tests integration --exact "$BINARIES_TEST"
say "Checking least privilege: every granted action is used by a tested path (the least_privilege test)"
run_tests least_privilege
rm -f "$test_executables"
say "Removing what the passed run left in ${TMPDIR:-/tmp} (service logs, browser profiles)"
remove_ended_runs
