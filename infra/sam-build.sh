#!/usr/bin/env bash
# Builds every function with `sam build` as a deployment would (arm64, provided.al2023): first all
# functions in one `cargo lambda build` (infra/build/Makefile's `functions`), then SAM's makefile build in
# the source tree, whose targets (told so by FUNCTIONS_BUILT) only copy their binaries. Then checks that each function in
# template.yaml has its bootstrap artifact, an arm64 executable of at most 8 MiB, and says how long it took.
# Installs what it needs first: cargo-lambda and zig (from PyPI, prebuilt) into infra/.venv-build, the
# SAM CLI into infra/.venv-tools, and Rust's aarch64-unknown-linux-gnu standard library.
#
# With --check, it then runs every artifact itself: each arm64 bootstrap under qemu-user and the Lambda
# runtime API emulator on its sample event from events/, against DynamoDB Local and the local services,
# answering its expected status (tests/integration/binaries.rs, the test that runs the debug binaries).
#
# With --compile-only, it only builds the release binaries (what `sam build` then copies).
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

check=0 compile_only=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
elif [ "${1:-}" = "--compile-only" ]; then
  compile_only=1
  shift
fi

need_rust
need_venv build
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "Adding Rust's aarch64-unknown-linux-gnu target (Lambda arm64)"
  rustup target add aarch64-unknown-linux-gnu
fi

export PATH="$INFRA/.venv-build/bin:$INFRA/.venv-tools/bin:$PATH"
export SAM_CLI_TELEMETRY=0
started=$(date +%s)
say "Building every function: release, arm64, in one cargo invocation (cargo lambda build)"
make --no-print-directory -f infra/build/Makefile functions
# --compile-only: the release build alone (`.ci/run` runs it alongside the test command), no `sam build`.
if [ "$compile_only" -eq 1 ]; then
  say "Built every function's release binary in $(( $(date +%s) - started ))s (target/lambda/*/bootstrap)"
  exit 0
fi
need_venv tools
say "sam build: copying each function's binary into .aws-sam/build"
FUNCTIONS_BUILT=yes sam build --build-in-source "$@"
elapsed=$(( $(date +%s) - started ))

say "Checking the artifacts in .aws-sam/build"
max_bytes=$((8 * 1024 * 1024))
missing=0 oversized=0 count=0 largest=0
for function in $(grep -B1 "^    Type: AWS::Serverless::Function" template.yaml | grep -oP "^  \K\w+(?=:)"); do
  count=$((count + 1))
  artifact=".aws-sam/build/$function/bootstrap"
  if [ -x "$artifact" ] && python3 -c 'import sys; h = open(sys.argv[1], "rb").read(20); sys.exit(h[:4] != b"\x7fELF" or h[18:20] != b"\xb7\x00")' "$artifact"; then
    size=$(stat -c %s "$artifact")
    [ "$size" -gt "$largest" ] && largest=$size
    if [ "$size" -gt "$max_bytes" ]; then
      echo "over 8 MiB: $artifact ($size bytes)" >&2
      oversized=$((oversized + 1))
    fi
  else
    echo "missing or not an arm64 executable: $artifact" >&2
    missing=$((missing + 1))
  fi
done
if [ "$missing" -ne 0 ] || [ "$oversized" -ne 0 ]; then
  echo "$missing of $count functions have no artifact, $oversized are over 8 MiB" >&2
  exit 1
fi
say "All $count functions built in ${elapsed}s; artifacts in .aws-sam/build/*/bootstrap, the largest $((largest / 1024)) KiB"

if [ "$check" -eq 1 ]; then
  need_java
  need_node_modules
  need_venv secrets
  need_qemu_arm64
  say "Running every arm64 artifact on its sample event (qemu-aarch64-static, the runtime API emulator, DynamoDB Local)"
  # Built as the test command builds the tests (the workspace's features, the lints), so after it nothing
  # is built again.
  lints_in_builds
  FUNCTION_ARTIFACTS="$REPO_ROOT/.aws-sam/build" FUNCTION_RUNNER=qemu-aarch64-static \
    cargo test --quiet --workspace --test integration binaries::every_function_binary_answers_its_sample_event
  say "Removing what the passed check left in ${TMPDIR:-/tmp} (service logs)"
  remove_ended_runs
fi
