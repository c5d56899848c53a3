#!/usr/bin/env bash
# bench/redeem.sh: validation and redemption throughput and latency, against
# promo serve on the embedded store.
#
# It builds promo and bench/load, starts `promo serve` on a free port of
# 127.0.0.1 with a fresh data directory, and sets up two campaigns:
#
#   bench-validate  STANDALONE, one code VALIDATE-1 of unlimited quantity,
#                   10.00 off orders over 20.00 (an order.amount rule)
#   bench-redeem    STATIC, REDEEM_CODES (300,000) imported codes of
#                   quantity 1, 10% off: RDM-R-0, RDM-R-1, ... for run R,
#                   REDEEM_CODES/RUNS of them per run
#
# then measures three cases with bench/load, CLIENTS (64) keep-alive clients
# for DURATION (10 s) each after a 1 s uncounted warm-up:
#
#   healthz   GET /healthz: a trivial JSON handler, what the HTTP stack costs
#   validate  POST /v1/validations of VALIDATE-1 with an order of 50.00
#   redeem    POST /v1/redemptions of RDM-R-N by customer cust-R-N with an
#             order of 50.00 (R the run, N the request's number): every
#             request redeems a distinct code and upserts a new customer,
#             and every redemption is committed before its response
#
# The codes of a run must not run dry: each redeem run stops after its
# share, REDEEM_CODES/RUNS requests (warm-up included), if it gets there
# before DURATION ("capped").
#
# The runs are interleaved (healthz, validate, redeem, healthz, ...) so that
# the noise of a shared machine hits every case alike; the summary shows the
# medians over RUNS runs, each case's throughput as a ratio of the trivial
# handler's, and checks the targets:
#
#   validate   >= 20,000 requests/s, p99 <= 10 ms
#   redeem     >=  5,000 requests/s, p99 <= 30 ms
#
# After the runs it checks, untimed, that the redemptions are all there:
# GET /v1/redemptions?campaign=bench-redeem&result=SUCCESS must total the
# redeem requests that got 200, warm-ups included. The load generator runs on the same machine
# as the server and takes CPU from it.
#
# Usage, from anywhere:
#
#   bash bench/redeem.sh                       # RUNS=3
#   RUNS=1 DURATION=3s bash bench/redeem.sh    # a quick look
#
# The exit status is non-zero if a build fails, the server fails to start or
# to import the codes, a measured request got an error or a non-2xx answer,
# or a redemption answered 200 is missing. Targets that are not met print
# FAIL but do not change the exit status. Needs Go and curl.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
BENCH=redeem.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

readonly WARMUP=1s
readonly MIN_VALIDATE_RPS=20000
readonly MAX_VALIDATE_P99_MS=10
readonly MIN_REDEEM_RPS=5000
readonly MAX_REDEEM_P99_MS=30

runs=${RUNS:-3}
clients=${CLIENTS:-64}
duration=${DURATION:-10s}
codes=${REDEEM_CODES:-300000}
for v in runs clients codes; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done

header "redemption benchmark: RUNS=$runs, $clients clients, $duration per run after a $WARMUP warm-up"
start_server

api POST /v1/campaigns '{"name":"bench-validate","type":"STANDALONE","voucher":{"type":"DISCOUNT_VOUCHER","code":"VALIDATE-1","discount":{"type":"AMOUNT","amount_off":1000}}}'
api POST /v1/validation-rules '{"name":"over 20","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[2000]}},"logic":"1"}}'
rule=$(json id "$tmp/resp")
api POST "/v1/validation-rules/$rule/assignments" '{"related_object_type":"campaign","related_object_id":"bench-validate"}'
api POST /v1/validations '{"redeemables":[{"object":"voucher","id":"VALIDATE-1"}],"order":{"amount":5000}}'
[[ $(json valid "$tmp/resp") == true ]] || die "VALIDATE-1 does not validate: $(head -c 2000 "$tmp/resp")"
api POST /v1/validations '{"redeemables":[{"object":"voucher","id":"VALIDATE-1"}],"order":{"amount":1000}}'
[[ $(json valid "$tmp/resp") == false ]] || die "the order.amount rule of VALIDATE-1 does not hold: $(head -c 2000 "$tmp/resp")"

setup_redeem_codes

echo "setup:   each redeem run stops after $(commas "$per_run") requests, its share of the codes"

echo
measure_header
for ((r = 1; r <= runs; r++)); do
	measure healthz "$r" "$url/healthz"
	measure validate "$r" -method POST \
		-body-template '{"redeemables":[{"object":"voucher","id":"VALIDATE-1"}],"order":{"amount":5000}}' \
		"$url/v1/validations"
	measure redeem "$r" -n "$per_run" -method POST \
		-body-template "{\"redeemables\":[{\"object\":\"voucher\",\"id\":\"RDM-$r-{{.N}}\"}],\"customer\":{\"source_id\":\"cust-$r-{{.N}}\"},\"order\":{\"amount\":5000}}" \
		"$url/v1/redemptions"
done

# Every redemption answered 200 is stored; all_2xx counts the warm-up's
# answers too.
answered=0
for ((r = 1; r <= runs; r++)); do
	n=$(json all_2xx "$tmp/redeem-$r.json")
	answered=$((answered + ${n:-0}))
done
api GET '/v1/redemptions?campaign=bench-redeem&result=SUCCESS&limit=1'
stored=$(json total "$tmp/resp")
[[ $stored == "$answered" ]] || {
	bad=1
	echo "  !! $answered redemptions answered 200, $stored stored" >&2
}
echo "check:   $(commas "$answered") redemptions answered 200, $(commas "$stored") stored"

echo
echo "== summary: medians of $runs runs, $clients clients, $duration each =="
printf '  %-40s %9s %9s %9s %10s\n' case p50_ms p90_ms p99_ms req/s
summary_row healthz 'GET /healthz (trivial handler)'
summary_row validate 'POST /v1/validations'
summary_row redeem 'POST /v1/redemptions (distinct codes)'
trivial=$(median healthz 6)
validate_rps=$(median validate 6)
redeem_rps=$(median redeem 6)
validate_p99=$(median validate 5)
redeem_p99=$(median redeem 5)
printf '  %-40s %.2f\n' "validate / trivial req/s:" "$(calc "$validate_rps / $trivial")"
printf '  %-40s %.2f\n' "redeem / trivial req/s:" "$(calc "$redeem_rps / $trivial")"
target() { printf '  %-40s %-12s %-20s %s\n' "$1" "$2" "$3" "$(verdict "$4")"; }
target "validate req/s:" "$(printf '%.0f' "$validate_rps")" ">= $MIN_VALIDATE_RPS" "$validate_rps >= $MIN_VALIDATE_RPS"
target "validate p99:" "$validate_p99 ms" "<= $MAX_VALIDATE_P99_MS ms" "$validate_p99 <= $MAX_VALIDATE_P99_MS"
target "redeem req/s:" "$(printf '%.0f' "$redeem_rps")" ">= $MIN_REDEEM_RPS" "$redeem_rps >= $MIN_REDEEM_RPS"
target "redeem p99:" "$redeem_p99 ms" "<= $MAX_REDEEM_P99_MS ms" "$redeem_p99 <= $MAX_REDEEM_P99_MS"
server_rss
finish "RUNS=$runs CLIENTS=$clients DURATION=$duration REDEEM_CODES=$codes bash bench/redeem.sh"
