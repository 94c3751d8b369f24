#!/usr/bin/env bash
# AWS CLI conformance: a second, independent AWS client (botocore) against the emulator binary.
# Proves the wire format is AWS's, not just what the Rust SDK tolerates.
#
# Usage: scripts/aws-cli-conformance.sh PATH/TO/rootsweep-emulator [PATH/TO/aws]
set -euo pipefail

emulator_binary=${1:?usage: $0 PATH/TO/rootsweep-emulator [PATH/TO/aws]}
aws=${2:-aws}
work=$(mktemp -d)
emulator_pid=
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "aws-cli-conformance: FAILED: $*" >&2; exit 1; }
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then fail "$1: expected '$2', got '$3'"; fi
  echo "ok - $1"
}

# Every member holds every kind of credential, a bucket and a queue; no SCP in the way.
cat > "$work/spec.json" <<'JSON'
{"password_share": 1.0, "access_key_share": 1.0, "bucket_share": 1.0, "locked_bucket_share": 1.0,
 "queue_share": 1.0, "locked_queue_share": 1.0, "scp_restricted_ous": 0, "suspended_share": 0.0,
 "pending_closure_share": 0.0, "regions": ["eu-west-1"]}
JSON
"$emulator_binary" --listen 127.0.0.1:0 --accounts 45 --seed 3 --spec "$work/spec.json" \
  --dump-scenario "$work/scenario.json" > "$work/env" 2> "$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 1 100); do grep -q '^# ready' "$work/env" 2>/dev/null && break; sleep 0.1; done
grep -q '^# ready' "$work/env" || { cat "$work/emulator.log" >&2; fail "the emulator did not start"; }
# shellcheck disable=SC1090
source <(grep '^export\|^unset' "$work/env")
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
admin="$AWS_ENDPOINT_URL/_emulator"

# Organizations: the CLI follows NextToken through pages of at most 20.
accounts=$("$aws" organizations list-accounts --query 'length(Accounts)' --output json)
check "organizations list-accounts returns every account across pages" 45 "$accounts"
first_page=$("$aws" organizations list-accounts --max-items 20 --query 'length(Accounts)' --output json)
check "organizations list-accounts --max-items 20" 20 "$first_page"
management=$("$aws" organizations describe-organization --query Organization.MasterAccountId --output text)
member=$(python3 -c "
import json,sys
s=json.load(open('$work/scenario.json'))
print(next(a['id'] for a in s['accounts'] if a['id']!='$management' and a['state']=='ACTIVE'))")
echo "# member account $member"

assume() { # assume TASK -> exports the session's credentials
  local output
  output=$("$aws" sts assume-root --target-principal "$member" \
    --task-policy-arn "arn=arn:aws:iam::aws:policy/root-task/$1" --duration-seconds 900 \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "$output"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
}
operator_key=$AWS_ACCESS_KEY_ID operator_secret=$AWS_SECRET_ACCESS_KEY
as_operator() {
  export AWS_ACCESS_KEY_ID=$operator_key AWS_SECRET_ACCESS_KEY=$operator_secret
  unset AWS_SESSION_TOKEN
}

# IAM with a root session (no --user-name).
assume IAMDeleteRootUserCredentials
check "sts assume-root gives an ASIA session" ASIA "${AWS_ACCESS_KEY_ID:0:4}"
created=$("$aws" iam get-login-profile --query 'LoginProfile.CreateDate' --output text)
[ -n "$created" ] && [ "$created" != None ] || fail "iam get-login-profile returned no profile"
echo "ok - iam get-login-profile"
keys_before=$("$aws" iam list-access-keys --query 'length(AccessKeyMetadata)' --output text)
key=$("$aws" iam list-access-keys --query 'AccessKeyMetadata[0].AccessKeyId' --output text)
"$aws" iam delete-access-key --access-key-id "$key"
keys_after=$("$aws" iam list-access-keys --query 'length(AccessKeyMetadata)' --output text)
check "iam delete-access-key removes one key" $((keys_before - 1)) "$keys_after"
error=$("$aws" iam delete-access-key --access-key-id "$key" 2>&1 || true)
case "$error" in *NoSuchEntity*) echo "ok - deleting it again is NoSuchEntity" ;; *) fail "second delete: $error" ;; esac

# S3 with a root session: path-style DeleteBucketPolicy in the bucket's region.
as_operator; assume S3UnlockBucketPolicy
bucket=$("$aws" s3api list-buckets --max-buckets 10 --query 'Buckets[0].Name' --output text)
region=$("$aws" s3api list-buckets --max-buckets 10 --query 'Buckets[0].BucketRegion' --output text)
check "s3api list-buckets reports the bucket region" eu-west-1 "$region"
policy=$("$aws" s3api get-bucket-policy --bucket "$bucket" --region "$region" --query Policy --output text)
case "$policy" in *DenyEveryone*) echo "ok - s3api get-bucket-policy" ;; *) fail "policy: $policy" ;; esac
"$aws" s3api delete-bucket-policy --bucket "$bucket" --region "$region"
state=$(curl -sf "$admin/accounts/$member" | python3 -c "
import json,sys; a=json.load(sys.stdin); print(next(b['policy'] for b in a['buckets'] if b['name']=='$bucket'))")
check "s3api delete-bucket-policy removed the policy" None "$state"

# SQS with a root session: SetQueueAttributes Policy="". The AWS CLI v1 replaces the SQS endpoint
# with the legacy {region}.queue.amazonaws.com unless --endpoint-url is given explicitly.
as_operator; assume SQSUnlockQueuePolicy
sqs() { "$aws" sqs --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
url=$(sqs list-queues --region eu-west-1 --query 'QueueUrls[0]' --output text)
name=${url##*/}
check "sqs get-queue-url" "$url" "$(sqs get-queue-url --queue-name "$name" --region eu-west-1 --query QueueUrl --output text)"
sqs set-queue-attributes --region eu-west-1 --queue-url "$url" --attributes '{"Policy":""}'
state=$(curl -sf "$admin/accounts/$member" | python3 -c "
import json,sys; a=json.load(sys.stdin); print(next(q['policy'] for q in a['queues'] if q['name']=='$name'))")
check "sqs set-queue-attributes Policy='' removed the policy" None "$state"
error=$(sqs get-queue-url --queue-name no-such-queue --region eu-west-1 2>&1 || true)
case "$error" in *NonExistentQueue*|*QueueDoesNotExist*) echo "ok - missing queue error" ;; *) fail "missing queue: $error" ;; esac

# The rules reach the CLI as AWS errors too.
as_operator
error=$("$aws" sts assume-root --target-principal "$management" \
  --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials 2>&1 || true)
case "$error" in *AccessDenied*) echo "ok - assume-root into the management account is AccessDenied" ;; *) fail "management target: $error" ;; esac

echo "aws-cli-conformance: all checks passed"
