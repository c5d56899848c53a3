#!/usr/bin/env bash
# bench/api.sh: the API's latency targets, measured against promo serve.
#
# It builds promo and bench/load, starts `promo serve` on a free port of
# 127.0.0.1 with a fresh data directory, creates a STATIC campaign of 150,000
# codes (pattern SUM-####-####) and waits for its generation to be DONE,
# collects 9,900 of its codes with GET /v1/vouchers (99 pages of 100, the
# most the API pages through), then measures six cases with bench/load,
# CLIENTS (32) keep-alive clients for DURATION (10 s) each after a 1 s
# uncounted warm-up:
#
#   healthz   GET /healthz: a trivial handler, what the HTTP stack costs
#   voucher   GET /v1/vouchers/{code}, round-robin over the collected codes
#   voucher@  the same at a fixed offered rate, VOUCHER_RATE (5,000) requests
#             per second in all (bench/load -rate, an open loop): the latency
#             a steady stream of users sees below saturation, where the
#             closed loop measures the server flat out
#   publish   POST /v1/publications {"campaign":{"name":...},
#             "customer":{"source_id":"cust-rR-N"}}: a new customer every
#             time, so each request upserts a customer and assigns a code
#   publish@  the same at a fixed offered rate, PUBLISH_RATE (1,000) per
#             second in all, an open loop as for voucher@
#
# The publications draw from the same pool of 150,000 codes, which must not
# run dry: each publish run stops after its share, 100,000/RUNS requests
# (warm-up included), and each publish@ run after 50,000/RUNS, if it gets
# there before DURATION. Such a run is marked "capped"; its figures cover
# the requests it made.
#
# In a closed loop the clients keep the server saturated, and a request
# waits for the ones ahead of it: on this 2-core machine even the trivial
# handler's p99 is several ms there. The targets are read at the fixed
# rates, below saturation, where a p99 says what a steady stream of users
# sees; the saturated figures are shown beside them.
#
# The runs are interleaved (healthz, voucher, publish, healthz, ...) so that
# the noise of a shared machine hits every case alike; the summary shows the
# medians over RUNS runs and checks the targets:
#
#   GET voucher   p99 <= 2 ms at VOUCHER_RATE
#   publish       p99 <= 10 ms at PUBLISH_RATE
#
# and the server's peak RSS (VmHWM of /proc/PID/status) at the end. The load
# generator runs on the same machine as the server and takes CPU from it.
#
# Usage, from anywhere:
#
#   bash bench/api.sh                       # RUNS=3
#   RUNS=1 DURATION=3s bash bench/api.sh    # a quick look
#
# The exit status is non-zero if a build fails, the server fails to start or
# to generate the campaign, or any measured request got an error or a non-2xx
# answer (the first one of each status is printed). Targets that are not met
# print FAIL but do not change the exit status: the figures of a noisy
# machine are for reading. Needs Go and curl.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
BENCH=api.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

readonly CAMPAIGN='bench-api'
readonly PATTERN='SUM-####-####'
readonly CODES=150000    # codes in the campaign: 100,000 for publish, 50,000 for publish@
readonly PAGES=99        # pages of GET /v1/vouchers to collect codes from
readonly PAGE_SIZE=100   # vouchers per page
readonly WARMUP=1s       # uncounted, before each measured run
readonly MAX_VOUCHER_P99_MS=2
readonly MAX_PUBLISH_P99_MS=10

runs=${RUNS:-3}
clients=${CLIENTS:-32}
duration=${DURATION:-10s}
voucher_rate=${VOUCHER_RATE:-5000}
publish_rate=${PUBLISH_RATE:-1000}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
	die "RUNS must be a positive integer, not '$runs'"
fi
if ! [[ $clients =~ ^[1-9][0-9]*$ ]]; then
	die "CLIENTS must be a positive integer, not '$clients'"
fi

header "API benchmark: RUNS=$runs, $clients clients, $duration per run after a $WARMUP warm-up"
start_server

# The campaign, generated asynchronously; wait for its async action.
start=$EPOCHREALTIME
api POST /v1/campaigns "{\"name\":\"$CAMPAIGN\",\"campaign_type\":\"DISCOUNT_COUPONS\",\"type\":\"STATIC\",\"vouchers_count\":$CODES,\"voucher\":{\"type\":\"DISCOUNT_VOUCHER\",\"discount\":{\"type\":\"AMOUNT\",\"amount_off\":1000},\"code_config\":{\"pattern\":\"$PATTERN\"}}}"
action=$(json async_action_id "$tmp/resp")
[[ -n $action ]] || die "POST /v1/campaigns returned no async_action_id: $(head -c 2000 "$tmp/resp")"
wait_action "$action"
gen_s=$(calc "$EPOCHREALTIME - $start")
api GET "/v1/campaigns/$CAMPAIGN"
count=$(json vouchers_count "$tmp/resp")
[[ $count == "$CODES" ]] || die "campaign $CAMPAIGN has vouchers_count $count, want $CODES"
printf 'setup:   %s codes generated in %.2f s (POST /v1/campaigns to async action DONE)\n' \
	"$(commas "$CODES")" "$gen_s"

# The codes to read: GET /v1/vouchers pages into a file of URLs.
: >"$tmp/codes"
for ((page = 1; page <= PAGES; page++)); do
	api GET "/v1/vouchers?campaign=$CAMPAIGN&limit=$PAGE_SIZE&page=$page"
	{ grep -oE '"code":[[:space:]]*"[^"]*"' "$tmp/resp" || true; } | sed -E 's/.*"([^"]*)"$/\1/' >>"$tmp/codes"
done
want=$((PAGES * PAGE_SIZE))
got=$(wc -l <"$tmp/codes")
distinct=$(sort -u "$tmp/codes" | wc -l)
((got == want && distinct == want)) ||
	die "GET /v1/vouchers gave $got codes ($distinct distinct) in $PAGES pages of $PAGE_SIZE, want $want"
sed "s|^|$url/v1/vouchers/|" "$tmp/codes" >"$tmp/voucher-urls"
echo "setup:   $(commas "$want") codes collected from $PAGES pages of GET /v1/vouchers, e.g. $(head -n 1 "$tmp/codes")"

publish_cap=$((100000 / runs))
publish_rate_cap=$((50000 / runs))
echo "setup:   each publish run stops after $(commas "$publish_cap") requests, each publish@ run after $(commas "$publish_rate_cap")"

echo
measure_header
for ((r = 1; r <= runs; r++)); do
	measure healthz "$r" "$url/healthz"
	measure voucher "$r" -urls "$tmp/voucher-urls"
	measure voucher@ "$r" -rate "$voucher_rate" -urls "$tmp/voucher-urls"
	measure publish "$r" -n "$publish_cap" -method POST \
		-body-template "{\"campaign\":{\"name\":\"$CAMPAIGN\"},\"customer\":{\"source_id\":\"cust-r$r-{{.N}}\"}}" \
		"$url/v1/publications"
	measure publish@ "$r" -n "$publish_rate_cap" -rate "$publish_rate" -method POST \
		-body-template "{\"campaign\":{\"name\":\"$CAMPAIGN\"},\"customer\":{\"source_id\":\"cust-f$r-{{.N}}\"}}" \
		"$url/v1/publications"
done

echo
echo "== summary: medians of $runs runs, $clients clients, $duration each =="
printf '  %-40s %9s %9s %9s %10s\n' case p50_ms p90_ms p99_ms req/s
summary_row healthz 'GET /healthz'
summary_row voucher 'GET /v1/vouchers/{code}'
summary_row voucher@ "GET /v1/vouchers/{code} at $voucher_rate/s"
summary_row publish 'POST /v1/publications (new customer)'
summary_row publish@ "POST /v1/publications at $publish_rate/s"
voucher_p99=$(median voucher 5)
voucher_rate_p99=$(median voucher@ 5)
publish_p99=$(median publish 5)
publish_rate_p99=$(median publish@ 5)
printf '  %-40s %-9s %-18s %s\n' "GET voucher p99:" "$voucher_p99 ms" "target <= $MAX_VOUCHER_P99_MS ms" \
	"$(verdict "$voucher_p99 <= $MAX_VOUCHER_P99_MS")"
printf '  %-40s %-9s %-18s %s\n' "GET voucher p99 at $voucher_rate/s:" "$voucher_rate_p99 ms" "target <= $MAX_VOUCHER_P99_MS ms" \
	"$(verdict "$voucher_rate_p99 <= $MAX_VOUCHER_P99_MS")"
printf '  %-40s %-9s %-18s %s\n' "publish p99:" "$publish_p99 ms" "target <= $MAX_PUBLISH_P99_MS ms" \
	"$(verdict "$publish_p99 <= $MAX_PUBLISH_P99_MS")"
printf '  %-40s %-9s %-18s %s\n' "publish p99 at $publish_rate/s:" "$publish_rate_p99 ms" "target <= $MAX_PUBLISH_P99_MS ms" \
	"$(verdict "$publish_rate_p99 <= $MAX_PUBLISH_P99_MS")"
server_rss
finish "RUNS=$runs CLIENTS=$clients DURATION=$duration VOUCHER_RATE=$voucher_rate PUBLISH_RATE=$publish_rate bash bench/api.sh"
