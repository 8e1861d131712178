#!/usr/bin/env bash
# Checks an AWS account and region before the first `sam deploy` (docs/deploy.md, step 0), with the AWS CLI
# and the deployer's credentials, and says what to change for each check that fails:
#   - the stack name is one CloudFormation takes;
#   - the Lambda concurrency quota leaves room (new accounts often have 10; the stack reserves none by
#     default, but 10 at once is little for an API whose logins hash passwords);
#   - SES: production access (or the sandbox, which mails only verified addresses) and a sender identity
#     verified for sending (the address, or its domain);
#   - the region offers every resource type template.yaml uses.
# Reads only; changes nothing. Exit status 0 when nothing blocks the deploy, 1 otherwise.
#
# usage: bash infra/preflight.sh --stack-name NAME --sender ADDRESS [--region REGION]
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_NAME=""
SENDER=""
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
usage() { echo "usage: bash infra/preflight.sh --stack-name NAME --sender ADDRESS [--region REGION]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --stack-name) STACK_NAME="${2:-}"; shift 2 ;;
    --sender) SENDER="${2:-}"; shift 2 ;;
    --region) REGION="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$STACK_NAME" ] && [ -n "$SENDER" ] || usage
[ -n "$REGION" ] || { echo "Name the region: --region, or AWS_REGION" >&2; exit 2; }
command -v aws >/dev/null || { echo "The AWS CLI v2 is needed (aws): https://docs.aws.amazon.com/cli/" >&2; exit 2; }

BLOCKING=0
ok() { printf 'ok    %s\n' "$*"; }
warn() { printf 'note  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; BLOCKING=1; }
# A field of the JSON on stdin (a dotted path), or empty.
field() { python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else (str(value).lower() if isinstance(value, bool) else value))' "$1"; }
aws_json() { aws --region "$REGION" --output json "$@" 2>/dev/null; }

echo "Checking account and region $REGION for the stack $STACK_NAME"

# The stack name: CloudFormation's rule (a letter, then letters, digits and hyphens; 128 at most). Every
# resource name the template derives fits any such name (template_resources.rs checks it).
if [[ "$STACK_NAME" =~ ^[A-Za-z][-A-Za-z0-9]*$ ]] && [ "${#STACK_NAME}" -le 128 ]; then
  ok "stack name $STACK_NAME"
else
  fail "stack name $STACK_NAME: CloudFormation takes a letter, then letters, digits and hyphens, 128 characters at most"
fi

# Lambda's concurrency quota.
if settings=$(aws_json lambda get-account-settings); then
  total=$(field AccountLimit.ConcurrentExecutions <<<"$settings")
  if [ "${total:-0}" -ge 100 ]; then
    ok "Lambda concurrency quota $total (deploy with LambdaConcurrencyQuota=$total, which the concurrency alarm compares with)"
  else
    fail "Lambda concurrency quota is ${total:-unknown}: ask for at least 100 (Service Quotas > AWS Lambda > Concurrent executions); with 10, ten requests at once use all of it, and the stack's optional reservation for password hashing (PasswordHashingConcurrency) cannot be set at all"
  fi
else
  fail "cannot read Lambda's account settings (lambda:GetAccountSettings): check the credentials and the region"
fi

# SES: production access, and the sender identity.
if account=$(aws_json sesv2 get-account); then
  if [ "$(field ProductionAccessEnabled <<<"$account")" = "true" ]; then
    ok "SES production access (sending rate $(field SendQuota.MaxSendRate <<<"$account") per second: set MailSendRatePerSecond to it)"
  else
    warn "SES is in the sandbox: it mails only verified addresses, 1 per second (MailSendRatePerSecond 1); ask for production access (SES console > Account dashboard) before inviting people"
  fi
  if [ "$(field SendingEnabled <<<"$account")" = "false" ]; then
    fail "SES sending is paused for this account (its reputation): see the SES console's reputation dashboard"
  fi
else
  fail "cannot read the SES account (ses:GetAccount): check the credentials, and that the region has SES"
fi
domain="${SENDER#*@}"
verified=""
for identity in "$SENDER" "$domain"; do
  if answer=$(aws_json sesv2 get-email-identity --email-identity "$identity") \
    && [ "$(field VerifiedForSendingStatus <<<"$answer")" = "true" ]; then
    verified="$identity"
    break
  fi
done
if [ -n "$verified" ]; then
  ok "sender $SENDER may send (verified identity $verified)"
else
  fail "sender $SENDER is not verified for sending: aws sesv2 create-email-identity --email-identity $domain (DKIM records in your DNS), or the address itself (a link is mailed to it); docs/deploy.md, step 2"
fi

# Every resource type of the template, offered in this region.
missing=()
while read -r type; do
  aws_json cloudformation describe-type --type RESOURCE --type-name "$type" >/dev/null || missing+=("$type")
done < <(grep -oE '^    Type: AWS::[A-Za-z0-9]+::[A-Za-z0-9]+' "$REPO_ROOT/template.yaml" | awk '{print $2}' \
  | grep -v '^AWS::Serverless::' | sort -u)
if [ "${#missing[@]}" -eq 0 ]; then
  ok "every resource type of template.yaml is offered in $REGION"
else
  fail "not offered in $REGION (or not readable: cloudformation:DescribeType): ${missing[*]}; choose another region"
fi

if [ "$BLOCKING" -eq 0 ]; then
  echo "Ready: nothing blocks sam deploy (docs/deploy.md, step 4)"
else
  echo "Not ready: change what FAIL says, then run this again"
fi
exit "$BLOCKING"
