#!/usr/bin/env bash
# bench/limits.sh: what refusing a rate-limited request costs, against a
# trivial handler, measured against promo serve in one run.
#
# It builds promo and bench/load, starts `promo serve` on a free port with a
# fresh data directory and a window of 5 failed attempts per client IP per
# hour, fails 5 validations from 127.0.0.1 so that its window is
# full, then measures two cases with bench/load, CLIENTS (64) keep-alive
# clients for DURATION (10 s) each after a 1 s uncounted warm-up:
#
#   healthz   GET /healthz: a trivial JSON handler
#   refused   POST /v1/validations from the full window: authenticated,
#             rate-limited per API key, then refused with 429 by the
#             attempt window before its body is read; every answer must be
#             429
#
# The runs are interleaved (healthz, refused, healthz, ...); the summary
# shows the medians over RUNS (3) runs and checks the target:
#
#   refused req/s >= 0.8 x healthz req/s
#
# Usage, from anywhere:
#
#   bash bench/limits.sh                       # RUNS=3
#   RUNS=1 DURATION=3s bash bench/limits.sh    # a quick look
#
# The exit status is non-zero if a build fails, the server fails, or an
# answer is not the expected one (200 for healthz, 429 for refused). A
# target that is not met prints FAIL but does not change the exit status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
BENCH=limits.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

readonly WARMUP=1s
readonly MIN_RATIO=0.8

runs=${RUNS:-3}
clients=${CLIENTS:-64}
duration=${DURATION:-10s}
for v in runs clients; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done

header "rate-limit refusals: RUNS=$runs, $clients clients, $duration per run after a $WARMUP warm-up"
# An hour-long window, so that it lasts the whole benchmark.
PROMO_ATTEMPT_LIMIT=5/1h start_server

# Fill 127.0.0.1's window: 5 validations of a code that does not exist.
body='{"redeemables":[{"object":"voucher","id":"NOPE-0000"}],"order":{"amount":1000}}'
for ((i = 0; i < 5; i++)); do
	api POST /v1/validations "$body"
done
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' -X POST -H "X-App-Id: $app_id" -H "X-App-Token: $token" \
	-H 'Content-Type: application/json' --data-binary "$body" "$url/v1/validations")
[[ $code == 429 ]] || die "the 6th failed validation answered $code, want 429: $(head -c 2000 "$tmp/resp")"
echo "setup:   127.0.0.1 has failed 5 validations; its attempts answer 429 for an hour"

echo
measure_header
for ((r = 1; r <= runs; r++)); do
	measure healthz "$r" "$url/healthz"
	EXPECT_STATUS=429 measure refused "$r" -method POST -body-template "$body" "$url/v1/validations"
done

echo
echo "== summary: medians of $runs runs, $clients clients, $duration each =="
printf '  %-40s %9s %9s %9s %10s\n' case p50_ms p90_ms p99_ms req/s
summary_row healthz 'GET /healthz (trivial handler)'
summary_row refused 'POST /v1/validations, refused (429)'
ratio=$(calc "$(median refused 6) / $(median healthz 6)")
printf '  %-40s %-12.2f %-20s %s\n' "refused / trivial req/s:" "$ratio" ">= $MIN_RATIO" "$(verdict "$ratio >= $MIN_RATIO")"
server_rss
finish "RUNS=$runs CLIENTS=$clients DURATION=$duration bash bench/limits.sh"
