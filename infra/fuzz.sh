#!/usr/bin/env bash
# Fuzzes the local API from openapi.yaml with schemathesis: starts the local stack (devstack) on free
# ports with a fresh table, signs up an organization whose owner is also the instance operator, logs in,
# and runs schemathesis over every operation with the owner's session. Checks: no 5xx
# (not_a_server_error), every response matches the document (response_schema_conformance), and its status
# is one the document lists (status_code_conformance). Stops everything it started.
#
# usage: bash infra/fuzz.sh [EXAMPLES_PER_OPERATION] [extra schemathesis options...]
#   EXAMPLES_PER_OPERATION defaults to $FUZZ_EXAMPLES or 100; FUZZ_SEED fixes the random seed.
source "$(dirname "$0")/setup.sh"
cd "$REPO_ROOT"

EXAMPLES="${1:-${FUZZ_EXAMPLES:-100}}"
shift || true

need_rust
need_java
need_node_modules
need_venv fuzz
# With --workspace, the features are the workspace's, as in the test command's build: nothing is built
# again here, nor (its features flipped back) again by the test command's `cargo test`. The test command
# builds them itself (FUZZ_BINARIES_BUILT=yes) and goes on building the rest while this runs.
if [ "${FUZZ_BINARIES_BUILT:-}" != "yes" ]; then
  say "Building the local stack and the operator command (cargo build --workspace --bin devstack --bin grant-operator)"
  cargo build --quiet --workspace --bin devstack --bin grant-operator
fi

RUN="$(date +%s)-$$"
OWNER="fuzz-owner-$RUN@example.org"
PASSWORD="fuzzing passphrase"
WORK="$(mktemp -d)"
LOG="$WORK/devstack.log"

DEVSTACK_PID=""
stop() {
  if [ -n "$DEVSTACK_PID" ] && kill -0 "$DEVSTACK_PID" 2>/dev/null; then
    say "Stopping the local stack (pid $DEVSTACK_PID)"
    kill -INT "$DEVSTACK_PID" 2>/dev/null || true
    wait "$DEVSTACK_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap stop EXIT

# Every port 0: the local stack picks free ones as the tests do (devstack::services::free_port) and
# prints them.
say "Starting the local stack on free ports"
SUPER_USER_EMAILS="$OWNER" SELF_REGISTRATION_ORGANIZATION="fuzz_home" RUST_LOG="${RUST_LOG:-warn}" \
  "$REPO_ROOT/target/debug/devstack" --port 0 --dynamodb-port 0 --ses-port 0 --secrets-manager-port 0 \
  --table "fuzz-$RUN" >"$LOG" 2>&1 &
DEVSTACK_PID=$!
API=""
for _ in $(seq 1 240); do
  API=$(sed -n 's|^  API: *\(http://[^ ]*\)/api .*|\1|p' "$LOG" | head -1)
  if [ -n "$API" ] && curl -sf "$API/api/buildinfo" >/dev/null; then break; fi
  if ! kill -0 "$DEVSTACK_PID" 2>/dev/null; then cat "$LOG" >&2; echo "the local stack did not start" >&2; exit 1; fi
  sleep 0.5
done
[ -n "$API" ] && curl -sf "$API/api/buildinfo" >/dev/null || { cat "$LOG" >&2; echo "the local stack did not answer" >&2; exit 1; }
SES_PORT=$(sed -n 's|.*the SES v2 emulator on port \([0-9]*\).*|\1|p' "$LOG" | head -1)
DYNAMODB_PORT=$(sed -n 's|^devstack: starting DynamoDB Local on port \([0-9]*\),.*|\1|p' "$LOG" | head -1)
MOTO_PORT=$(sed -n 's|.*Secrets Manager (moto) on port \([0-9]*\) .*|\1|p' "$LOG" | head -1)
say "The local stack answers at $API (SES emulator on port $SES_PORT)"

say "Signing up the fuzzing organization and logging in as its owner ($OWNER, also the operator)"
JSON="Content-Type: application/json"
curl -sf -X POST -H "$JSON" "$API/api/auth/createOrganizationWithAdmin" -d "{\"email\": \"$OWNER\",
  \"password\": {\"password1\": \"$PASSWORD\", \"password2\": \"$PASSWORD\"}, \"firstName\": \"Fuzz\",
  \"lastName\": \"Owner\", \"organizationName\": \"Fuzz Lab\", \"organization\": \"fuzz_lab\"}" >/dev/null
login() {
  curl -sf -X POST -H "$JSON" "$API/api/auth/login" -d "{\"email\": \"$OWNER\", \"password\": \"$PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
# Two sessions up front: the second for the run of the session-ending operations (by then the fuzzer's
# wrong passwords have locked the owner's logins for a while).
SESSION=$(login)
SECOND_SESSION=$(login)
say "Making $OWNER the operator (verifying the address with the link mailed to it, then grant-operator)"
curl -sf -X POST -H "Authorization: Bearer $SESSION" "$API/api/verifyEmail" >/dev/null
# The link arrives once the local stack's drainer has sent it (in the background, as on AWS): wait for it.
KEY=""
for _ in $(seq 1 80); do
  KEY=$(curl -sf "http://localhost:$SES_PORT/store" | python3 -c '
import json, re, sys
texts = [m["body"]["text"] for m in json.load(sys.stdin)["emails"] if "/verifyEmail/" in m["body"].get("text", "")]
print(re.search(r"/verifyEmail/(\S+)", texts[-1]).group(1) if texts else "")')
  [ -n "$KEY" ] && break
  sleep 0.25
done
[ -n "$KEY" ] || { cat "$LOG" >&2; echo "the verification mail did not arrive within 20 s" >&2; exit 1; }
curl -sf -X POST -H "Authorization: Bearer $SESSION" -H "$JSON" -d '{}' \
  "$API/api/verifyEmail/$KEY" >/dev/null
"$REPO_ROOT/target/debug/grant-operator" --email "$OWNER" --table "fuzz-$RUN" \
  --dynamodb-endpoint "http://127.0.0.1:$DYNAMODB_PORT" --sqs-endpoint "http://127.0.0.1:$MOTO_PORT" >/dev/null
say "Creating the self-registration organization fuzz_home as the operator (its id is reserved)"
curl -sf -X POST -H "Authorization: Bearer $SESSION" -H "$JSON" "$API/api/organizations" -d "{\"ownerEmail\": \"$OWNER\",
  \"organizationName\": \"Fuzz Home\", \"organization\": \"fuzz_home\"}" >/dev/null

CHECKS="not_a_server_error,response_schema_conformance,status_code_conformance"
# Operations that end the credential the fuzzer uses run last, in a second run with a fresh session, so
# they do not turn the rest of the run into 401s.
ENDING='^(logout|logout_everywhere|revoke_token|delete_organization)$'
st() {
  "$INFRA/.venv-fuzz/bin/schemathesis" run "$REPO_ROOT/openapi.yaml" --url "$API" \
    --checks "$CHECKS" --max-examples "$EXAMPLES" ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
    --suppress-health-check all --warnings off --workers 2 --request-timeout 30 \
    --report ndjson "$@"
}
status=0
say "Fuzzing every operation but those that end the session ($EXAMPLES examples per operation and phase)"
st -H "Authorization: Bearer $SESSION" --exclude-operation-id-regex "$ENDING" \
  --report-ndjson-path "$WORK/main.ndjson" "$@" || status=$?
say "Fuzzing the operations that end the session"
st -H "Authorization: Bearer $SECOND_SESSION" --include-operation-id-regex "$ENDING" \
  --report-ndjson-path "$WORK/ending.ndjson" "$@" || status=$?

# Each generated request is one ScenarioFinished event's step in the ndjson report; count the cases.
CASES=$(python3 - "$WORK/main.ndjson" "$WORK/ending.ndjson" <<'EOF'
import json, sys
cases = 0
for path in sys.argv[1:]:
    try:
        lines = open(path)
    except OSError:
        continue
    for line in lines:
        event = json.loads(line)
        for name, body in event.items():
            if name == "ScenarioFinished":
                cases += len(body.get("recorder", {}).get("cases", {}))
print(cases)
EOF
)
# A server error or panic the checks did not see (e.g. in a request schemathesis does not report) fails the
# run too.
SERVER_ERRORS='"level":"ERROR"\|"status":5[0-9][0-9]\|panicked'
if grep -q "$SERVER_ERRORS" "$LOG"; then
  say "The local stack logged server errors:"; grep "$SERVER_ERRORS" "$LOG" | head -20
  [ "$status" -ne 0 ] || status=1
fi
# A run that generated nothing tested nothing: that fails too (a broken schema or filter would do it).
if [ "${CASES:-0}" -eq 0 ]; then
  say "No test case was generated: the fuzzing tested nothing"
  [ "$status" -ne 0 ] || status=1
fi
say "Fuzzing done: $CASES generated test cases; schemathesis exit status $status"
exit "$status"
