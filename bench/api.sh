#!/usr/bin/env bash
# bench/api.sh: the API's latency targets, measured against promo serve.
#
# It builds promo and bench/load, starts `promo serve` on a free port of
# 127.0.0.1 with a fresh data directory, creates a STATIC campaign of 100,000
# codes (pattern SUM-####-####) and waits for its generation to be DONE,
# collects 9,900 of its codes with GET /v1/vouchers (99 pages of 100, the
# most the API pages through), then measures three cases with bench/load,
# CLIENTS (32) keep-alive clients for DURATION (10 s) each after a 1 s
# uncounted warm-up:
#
#   healthz   GET /healthz: a trivial handler, what the HTTP stack costs
#   voucher   GET /v1/vouchers/{code}, round-robin over the collected codes
#   publish   POST /v1/publications {"campaign":{"name":...},
#             "customer":{"source_id":"cust-rR-N"}}: a new customer every
#             time, so each request upserts a customer and assigns a code
#
# The publications draw from the same pool of 100,000 codes, which must not
# run dry: each publish run stops after its share, 100,000/RUNS requests
# (warm-up included), if it gets there before DURATION. Such a run is marked
# "capped"; its figures cover the requests it made.
#
# The runs are interleaved (healthz, voucher, publish, healthz, ...) so that
# the noise of a shared machine hits every case alike; the summary shows the
# medians over RUNS runs and checks the targets:
#
#   GET voucher   p99 <= 2 ms
#   publish       p99 <= 10 ms
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

readonly CAMPAIGN='bench-api'
readonly PATTERN='SUM-####-####'
readonly CODES=100000    # codes in the campaign
readonly PAGES=99        # pages of GET /v1/vouchers to collect codes from
readonly PAGE_SIZE=100   # vouchers per page
readonly WARMUP=1s       # uncounted, before each measured run
readonly MAX_VOUCHER_P99_MS=2
readonly MAX_PUBLISH_P99_MS=10
readonly GENERATION_TIMEOUT_S=600
readonly START_TIMEOUT_S=30

runs=${RUNS:-3}
clients=${CLIENTS:-32}
duration=${DURATION:-10s}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
	echo "api.sh: RUNS must be a positive integer, not '$runs'" >&2
	exit 2
fi
if ! [[ $clients =~ ^[1-9][0-9]*$ ]]; then
	echo "api.sh: CLIENTS must be a positive integer, not '$clients'" >&2
	exit 2
fi

die() {
	echo "api.sh: $*" >&2
	exit 1
}

command -v curl >/dev/null || die "curl is not installed"

# limit runs a command with a time limit where timeout(1) exists: a hung
# step fails with a message rather than hanging the benchmark.
limit() {
	local seconds=$1
	shift
	if command -v timeout >/dev/null; then
		timeout "$seconds" "$@"
	else
		"$@"
	fi
}

tmp=$(mktemp -d)
server_pid=
# stop_server sends SIGTERM to the server and waits for it; it returns the
# server's exit status.
stop_server() {
	local pid=$server_pid status=0 i
	[[ -n $pid ]] || return 0
	server_pid=
	kill -TERM "$pid" 2>/dev/null || true
	# It has 15 s to drain; past 30 s it is stuck, so kill it.
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "the server did not stop within 30 s of SIGTERM; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" || status=$?
	return "$status"
}
cleanup() {
	stop_server || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

results=$tmp/results # lines: case run p50 p90 p99 rps requests

# commas 100000 prints 100,000.
commas() {
	sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"
}

# calc EXPR evaluates an awk expression and prints the result.
calc() {
	awk "BEGIN { print $1 }"
}

# verdict COND prints PASS if the awk condition holds, FAIL otherwise.
verdict() {
	if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi
}

# json NAME FILE prints the first value of the field NAME in the JSON in
# FILE: a string without its quotes, or a number, true, false or null.
json() {
	{ grep -oE "\"$1\":[[:space:]]*(\"[^\"]*\"|[-0-9.eE+]+|true|false|null)" "$2" || true; } |
		head -n 1 | sed -E "s/^\"$1\":[[:space:]]*//; s/^\"(.*)\"\$/\1/"
}

# show_log prints the end of the server's log, for a failure.
show_log() {
	echo "--- last lines of the server's log:" >&2
	tail -n 20 "$tmp/server.log" >&2 || true
}

# api METHOD PATH [BODY] sends one request to the server and leaves the
# response body in $tmp/resp. A non-2xx answer stops the script, showing the
# request and the response.
api() {
	local method=$1 path=$2 body=${3-} code
	local args=(-sS --max-time 60 -o "$tmp/resp" -w '%{http_code}' -X "$method"
		-H "X-App-Id: $app_id" -H "X-App-Token: $token")
	[[ -z $body ]] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code=$(curl "${args[@]}" "$url$path") || die "$method $path: curl failed"
	if [[ $code != 2?? ]]; then
		echo "request:  $method $url$path${body:+ $body}" >&2
		echo "response: $code $(head -c 2000 "$tmp/resp")" >&2
		die "$method $path answered $code"
	fi
}

echo "== API benchmark: RUNS=$runs, $clients clients, $duration per run after a $WARMUP warm-up =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:    $(uname -sm), $(nproc) CPUs"
echo "go:      $(go version)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)"

go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"
go build -o "$tmp/load" ./bench/load || die "cannot build bench/load"

# The server: a key first, so that serve prints none; port 0 picks a free
# port, which the server logs as {"msg":"listening","addr":...}.
data=$tmp/data
limit 60 "$tmp/promo" apikeys create --json --data-dir "$data" >"$tmp/key.json" ||
	die "promo apikeys create --json failed (or took over 60 s)"
app_id=$(json app_id "$tmp/key.json")
token=$(json token "$tmp/key.json")
[[ -n $app_id && -n $token ]] || die "cannot read app_id and token from: $(cat "$tmp/key.json")"
"$tmp/promo" serve --addr 127.0.0.1:0 --data-dir "$data" >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
addr=
for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
	addr=$(sed -n 's/.*"msg":"listening".*"addr":"\([^"]*\)".*/\1/p' "$tmp/server.log" | head -n 1)
	[[ -z $addr ]] || break
	kill -0 "$server_pid" 2>/dev/null || {
		show_log
		die "promo serve exited before listening"
	}
	sleep 0.1
done
[[ -n $addr ]] || {
	show_log
	die "promo serve did not log \"listening\" within ${START_TIMEOUT_S}s"
}
url=http://$addr
for ((i = 0; i < 100; i++)); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "$url/healthz") != 200 ]] || break
	sleep 0.1
done
echo "server:  $url, pid $server_pid"

# The campaign, generated asynchronously; wait for its async action.
start=$EPOCHREALTIME
api POST /v1/campaigns "{\"name\":\"$CAMPAIGN\",\"campaign_type\":\"DISCOUNT_COUPONS\",\"type\":\"STATIC\",\"vouchers_count\":$CODES,\"voucher\":{\"type\":\"DISCOUNT_VOUCHER\",\"discount\":{\"type\":\"AMOUNT\",\"amount_off\":1000},\"code_config\":{\"pattern\":\"$PATTERN\"}}}"
action=$(json async_action_id "$tmp/resp")
[[ -n $action ]] || die "POST /v1/campaigns returned no async_action_id: $(head -c 2000 "$tmp/resp")"
status=
while :; do
	api GET "/v1/async-actions/$action"
	status=$(json status "$tmp/resp")
	case $status in
	DONE) break ;;
	ENQUEUED | IN_PROGRESS) ;;
	*) die "async action $action is $status: $(head -c 2000 "$tmp/resp")" ;;
	esac
	if awk "BEGIN { exit !($EPOCHREALTIME - $start > $GENERATION_TIMEOUT_S) }"; then
		die "async action $action is not DONE after ${GENERATION_TIMEOUT_S}s: $(head -c 2000 "$tmp/resp")"
	fi
	sleep 0.1
done
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

publish_cap=$((CODES / runs))
echo "setup:   each publish run stops after $(commas "$publish_cap") requests (the pool of $(commas "$CODES") codes / RUNS)"

bad=0 # set when a run saw errors or non-2xx answers

# measure CASE RUN ARGS... runs bench/load with ARGS, prints a row and
# appends the figures to $results.
measure() {
	local name=$1 run=$2 out=$tmp/$1-$2.json
	shift 2
	"$tmp/load" -c "$clients" -d "$duration" -warmup "$WARMUP" \
		-H "X-App-Id: $app_id" -H "X-App-Token: $token" "$@" >"$out" ||
		die "bench/load failed for $name"
	local p50 p90 p99 rps reqs errors capped non2xx
	p50=$(json p50_ms "$out")
	p90=$(json p90_ms "$out")
	p99=$(json p99_ms "$out")
	rps=$(json throughput_rps "$out")
	reqs=$(json requests "$out")
	errors=$(json errors "$out")
	capped=$(json capped "$out")
	non2xx=$(tr -d ' \n' <"$out" | { grep -oE '"non_2xx":\{[^}]*\}' || true; } | sed -E 's/"non_2xx"://')
	echo "$name $run $p50 $p90 $p99 $rps $reqs" >>"$results"
	local note=
	[[ $capped != true ]] || note='  capped'
	printf '%-4s %-8s %9s %9s %9s %10.0f %9s%s\n' "$run" "$name" "$p50" "$p90" "$p99" "$rps" "$reqs" "$note"
	if [[ $errors != 0 || $non2xx != '{}' ]]; then
		bad=1
		echo "  !! $name run $run: $errors errors, non-2xx by status $non2xx; bench/load said:" >&2
		sed 's/^/  !! /' "$out" >&2
	fi
}

echo
printf '%-4s %-8s %9s %9s %9s %10s %9s\n' run case p50_ms p90_ms p99_ms req/s requests
for ((r = 1; r <= runs; r++)); do
	measure healthz "$r" "$url/healthz"
	measure voucher "$r" -urls "$tmp/voucher-urls"
	measure publish "$r" -n "$publish_cap" -method POST \
		-body-template "{\"campaign\":{\"name\":\"$CAMPAIGN\"},\"customer\":{\"source_id\":\"cust-r$r-{{.N}}\"}}" \
		"$url/v1/publications"
done

peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)

# median CASE FIELD prints the median of column FIELD (3 p50, 4 p90, 5 p99,
# 6 req/s) of a case's runs.
median() {
	awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$results" |
		sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "== summary: medians of $runs runs, $clients clients, $duration each =="
printf '  %-36s %9s %9s %9s %10s\n' case p50_ms p90_ms p99_ms req/s
for c in healthz voucher publish; do
	case $c in
	healthz) label='GET /healthz' ;;
	voucher) label='GET /v1/vouchers/{code}' ;;
	publish) label='POST /v1/publications (new customer)' ;;
	esac
	printf '  %-36s %9s %9s %9s %10.0f\n' "$label" "$(median "$c" 3)" "$(median "$c" 4)" \
		"$(median "$c" 5)" "$(median "$c" 6)"
done
voucher_p99=$(median voucher 5)
publish_p99=$(median publish 5)
printf '  %-36s %-9s %-18s %s\n' "GET voucher p99:" "$voucher_p99 ms" "target <= $MAX_VOUCHER_P99_MS ms" \
	"$(verdict "$voucher_p99 <= $MAX_VOUCHER_P99_MS")"
printf '  %-36s %-9s %-18s %s\n' "publish p99:" "$publish_p99 ms" "target <= $MAX_PUBLISH_P99_MS ms" \
	"$(verdict "$publish_p99 <= $MAX_PUBLISH_P99_MS")"
if [[ -n $peak_kb ]]; then
	printf '  %-36s %.1f MB (now %.1f MB)\n' "server peak RSS (VmHWM):" \
		"$(calc "$peak_kb / 1024")" "$(calc "${rss_kb:-0} / 1024")"
fi

if grep -q '"level":"ERROR"' "$tmp/server.log"; then
	echo "the server logged errors:" >&2
	grep '"level":"ERROR"' "$tmp/server.log" | head -n 10 >&2
	bad=1
fi
status=0
stop_server || status=$?
((status == 0)) || {
	show_log
	die "promo serve exited with status $status on SIGTERM, want 0"
}

echo
echo "reproduce, from the repository root: RUNS=$runs CLIENTS=$clients DURATION=$duration bash bench/api.sh"
((bad == 0)) || die "some requests failed (see the !! lines above)"
