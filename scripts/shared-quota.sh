#!/usr/bin/env bash
# Two rootsweep runs sharing one AssumeRoot quota: how the adaptive rate behaves when another
# caller of the same quota comes and goes (docs/benchmarks.md, "Other callers of the same
# quota"). Needs the release binaries (`cargo build --release -p rootsweep -p
# rootsweep-emulator`) and python3.
#
# The emulator runs the ar100 profile of the org-scale benchmarks (AssumeRoot 100/s per caller
# account, IAM 10/s per member account, Organizations 20/s, latency 30 ms median and 300 ms
# p99) with ACCOUNTS accounts. Run A audits them all with default flags. B_START seconds in, run
# B, with the same credentials and so the same quota, audits the first B_ACCOUNTS accounts A
# reported, with its rates fixed (`--fixed-rates`), AssumeRoot's at B_RATE calls/s: a caller
# that does not back off. With B_RATE=adaptive, B runs with default flags too: two sweeps at
# once. Prints A's wall time, when B ran, both runs' throttled AssumeRoot calls (retries), A's
# AssumeRoot rate every two seconds from 30 s, and B's every four while it ran.
#
# usage: scripts/shared-quota.sh [BIN]   (BIN: the rootsweep binary, default target/release)
# settings: ACCOUNTS (10000), SEED (7), B_START (40), B_ACCOUNTS (1500), B_RATE (85 or
# adaptive), WORK_DIR (target/shared-quota)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rootsweep=${1:-$repo/target/release/rootsweep}
emulator=$repo/target/release/rootsweep-emulator
accounts=${ACCOUNTS:-10000}
seed=${SEED:-7}
b_start=${B_START:-40}
b_accounts=${B_ACCOUNTS:-1500}
b_rate=${B_RATE:-85}
work=${WORK_DIR:-$repo/target/shared-quota}
for binary in "$rootsweep" "$emulator"; do
    if [[ ! -x $binary ]]; then
        echo "error: $binary is missing; run: cargo build --release -p rootsweep -p rootsweep-emulator" >&2
        exit 2
    fi
done
rm -rf "$work"
mkdir -p "$work"
cd "$work"
echo '{"scp_restricted_ous":0,"password_share":0.35,"access_key_share":0.15}' >spec.json
cat >load.json <<JSON
{"seed": $seed, "faults": [], "latency": {"median_ms": 30, "p99_ms": 300},
 "quotas": {"assume_root": {"per_second": 100}, "iam_per_account": {"per_second": 10},
            "organizations": {"per_second": 20}}}
JSON
"$emulator" --listen 127.0.0.1:0 --seed "$seed" --accounts "$accounts" \
    --spec spec.json --load load.json >emulator.out 2>/dev/null &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
until grep -q '^# ready' emulator.out; do
    kill -0 $emulator_pid 2>/dev/null || { echo "error: the emulator exited" >&2; exit 1; }
    sleep 0.1
done
mapfile -t emulator_environment < <(grep '^export ' emulator.out | sed 's/^export //')
run() {
    env -i PATH="$PATH" HOME="$work" AWS_CONFIG_FILE="$work/none" \
        AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_EC2_METADATA_DISABLED=true \
        "${emulator_environment[@]}" "$rootsweep" audit --no-progress --output jsonl \
        -vv --log-format json "$@"
}
start=$(date +%s.%N)
# A's end is noted as it happens: B may outlast it.
(run >a.jsonl 2>a.log || true; date +%s.%N >a.ended) &
a_pid=$!
sleep "$b_start"
# A's output reaches the file in blocks: wait for B's accounts to be in it.
until (( $(grep -c '"type":"account"' a.jsonl) >= b_accounts )); do
    kill -0 $a_pid 2>/dev/null || break
    sleep 0.1
done
grep '"type":"account"' a.jsonl | head -n "$b_accounts" \
    | python3 -c 'import sys, json; [print(json.loads(line)["account_id"]) for line in sys.stdin]' \
    >b.accounts
b_began=$(date +%s.%N)
if [[ $b_rate == adaptive ]]; then
    b_flags=()
else
    b_flags=(--fixed-rates --assume-root-rate "$b_rate")
fi
run --accounts-file b.accounts "${b_flags[@]}" >b.jsonl 2>b.log || true
b_ended=$(date +%s.%N)
wait $a_pid || true
a_ended=$(cat a.ended)
python3 - "$start" "$b_began" "$b_ended" "$a_ended" <<'PY'
import json, sys
start, b_began, b_ended, a_ended = map(float, sys.argv[1:])

def log(path):
    for line in open(path):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        yield record.get("fields", record)

def throttled_assume_root(path):
    return sum(1 for f in log(path) if f.get("message") == "retrying"
               and f.get("operation") == "sts:AssumeRoot" and f.get("class") == "throttled")

def statuses(path):
    counts = {}
    for line in open(path):
        record = json.loads(line)
        if record.get("type") == "account":
            counts[record["status"]] = counts.get(record["status"], 0) + 1
    return counts

rates = [(f["elapsed_ms"] / 1000, f["rate"]) for f in log("a.log")
         if f.get("message") == "rate changed" and f.get("budget") == "sts:AssumeRoot"]
b_offset = b_began - start
highest = max((rate for (at, rate) in rates if at >= b_offset), default=float("nan"))
print(f"A: wall {a_ended - start:.1f} s, {throttled_assume_root('a.log')} AssumeRoot calls throttled, "
      f"highest AssumeRoot rate once B began {highest:.0f}/s, accounts {statuses('a.jsonl')}")
print(f"B: from {b_offset:.1f} s to {b_ended - start:.1f} s, "
      f"{throttled_assume_root('b.log')} AssumeRoot calls throttled, accounts {statuses('b.jsonl')}")
timeline = []
for second in range(30, int(a_ended - start) + 1, 2):
    known = [rate for (at, rate) in rates if at <= second]
    timeline.append(f"{second}:{known[-1]:.0f}" if known else f"{second}:-")
print("A's AssumeRoot rate (s:calls/s):", " ".join(timeline))
b_rates = [(b_offset + f["elapsed_ms"] / 1000, f["rate"]) for f in log("b.log")
           if f.get("message") == "rate changed" and f.get("budget") == "sts:AssumeRoot"]
timeline = []
for second in range(int(b_offset), int(b_ended - start) + 1, 4):
    known = [rate for (at, rate) in b_rates if at <= second]
    timeline.append(f"{second}:{known[-1]:.0f}" if known else f"{second}:-")
print("B's AssumeRoot rate (s since A began:calls/s; none when fixed):", " ".join(timeline))
PY
