# bench/lib.sh: what the API benchmarks share. Source it from a script run
# at the repository root, after setting BENCH (the script's name, for
# messages); it sets no options of its own.
#
# It gives: die, limit, commas, calc, verdict, json; start_server, which
# builds promo and bench/load into $tmp, creates an API key and starts
# `promo serve` on a free port (setting url, app_id, token, server_pid), on
# a fresh data directory or on the store its arguments name; stop_server;
# api, one request with curl; wait_action; measure, one run of bench/load
# recorded in $results; median; server_rss; setup_redeem_codes, the codes
# the redemption benchmarks redeem. Sourcing it makes
# $tmp and installs the traps that stop the server and remove $tmp.

readonly START_TIMEOUT_S=30
readonly ACTION_TIMEOUT_S=600

die() {
	echo "$BENCH: $*" >&2
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
bad=0                # set when a run saw errors or non-2xx answers

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

# header TITLE prints the benchmark's title and where it runs.
header() {
	echo "== $1 =="
	echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host:    $(uname -sm), $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)"
	echo "go:      $(go version)"
	echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)"
}

# start_server [STORE_FLAGS...] builds promo and bench/load (once per
# script), creates an API key (so that serve prints none), and starts
# `promo serve` on a free port with a fresh data directory, or on the store
# STORE_FLAGS name (such as --database URL) when given; port 0 picks the
# port, which the server logs as {"msg":"listening","addr":...}.
start_server() {
	[[ -x $tmp/promo ]] || go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"
	[[ -x $tmp/load ]] || go build -o "$tmp/load" ./bench/load || die "cannot build bench/load"
	local store=("$@") i
	((${#store[@]})) || store=(--data-dir "$tmp/data")
	limit 60 "$tmp/promo" apikeys create --json "${store[@]}" >"$tmp/key.json" ||
		die "promo apikeys create --json failed (or took over 60 s)"
	app_id=$(json app_id "$tmp/key.json")
	token=$(json token "$tmp/key.json")
	[[ -n $app_id && -n $token ]] || die "cannot read app_id and token from: $(cat "$tmp/key.json")"
	# One key makes every request of a benchmark, past the default per-key
	# rate: the limiter still runs on every call, but with room for all.
	PROMO_KEY_RATE=${PROMO_KEY_RATE:-1000000/s} \
		"$tmp/promo" serve --addr 127.0.0.1:0 "${store[@]}" >"$tmp/server.out" 2>"$tmp/server.log" &
	server_pid=$!
	local addr=
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
}

# api METHOD PATH [BODY] sends one request to the server and leaves the
# response body in $tmp/resp. A non-2xx answer stops the script, showing the
# request and the response. A BODY starting with @ names a file to send.
api() {
	local method=$1 path=$2 body=${3-} code
	local args=(-sS --max-time 120 -o "$tmp/resp" -w '%{http_code}' -X "$method"
		-H "X-App-Id: $app_id" -H "X-App-Token: $token")
	[[ -z $body ]] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code=$(curl "${args[@]}" "$url$path") || die "$method $path: curl failed"
	if [[ $code != 2?? ]]; then
		echo "request:  $method $url$path${body:+ $(head -c 200 <<<"$body")}" >&2
		echo "response: $code $(head -c 2000 "$tmp/resp")" >&2
		die "$method $path answered $code"
	fi
}

# wait_action ID polls an async action every 100 ms until it is DONE.
wait_action() {
	local action=$1 start=$EPOCHREALTIME status
	while :; do
		api GET "/v1/async-actions/$action"
		status=$(json status "$tmp/resp")
		case $status in
		DONE) return ;;
		ENQUEUED | IN_PROGRESS) ;;
		*) die "async action $action is $status: $(head -c 2000 "$tmp/resp")" ;;
		esac
		if awk "BEGIN { exit !($EPOCHREALTIME - $start > $ACTION_TIMEOUT_S) }"; then
			die "async action $action is not DONE after ${ACTION_TIMEOUT_S}s: $(head -c 2000 "$tmp/resp")"
		fi
		sleep 0.1
	done
}

# setup_redeem_codes creates the campaign bench-redeem (STATIC, 10% off,
# redemption quantity 1) and imports $codes codes into it for $runs runs:
# RDM-R-0, RDM-R-1, ... for run R, per_run ($codes/$runs, which it sets,
# rounding codes down to a multiple of it) of them each, in imports of
# 100,000, the most one import takes.
setup_redeem_codes() {
	local batch=100000 start=$EPOCHREALTIME r from to action
	api POST /v1/campaigns '{"name":"bench-redeem","type":"STATIC","voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"PERCENT","percent_off":10},"redemption":{"quantity":1}}}'
	per_run=$((codes / runs))
	codes=$((per_run * runs))
	for ((r = 1; r <= runs; r++)); do
		for ((from = 0; from < per_run; from += batch)); do
			to=$((from + batch < per_run ? from + batch : per_run))
			awk -v a="$from" -v b="$to" -v r="$r" 'BEGIN {
				printf "["
				for (i = a; i < b; i++) printf "%s{\"code\":\"RDM-%d-%d\"}", (i > a ? "," : ""), r, i
				printf "]"
			}' >"$tmp/import.json"
			api POST /v1/campaigns/bench-redeem/import "@$tmp/import.json"
			action=$(json async_action_id "$tmp/resp")
			[[ -n $action ]] || die "the import returned no async_action_id: $(head -c 2000 "$tmp/resp")"
			wait_action "$action"
		done
	done
	api GET /v1/campaigns/bench-redeem
	[[ $(json vouchers_count "$tmp/resp") == "$codes" ]] ||
		die "bench-redeem has vouchers_count $(json vouchers_count "$tmp/resp"), want $codes"
	printf 'setup:   %s codes imported in %.2f s\n' "$(commas "$codes")" "$(calc "$EPOCHREALTIME - $start")"
}

# measure CASE RUN ARGS... runs bench/load with $clients clients for
# $duration after a $WARMUP warm-up, and ARGS; it prints a row and appends
# the figures to $results. A run with errors or non-2xx answers sets bad;
# with EXPECT_STATUS set (429, say), one whose answers are not all that
# status does.
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
	printf '%-4s %-10s %9s %9s %9s %10.0f %9s%s\n' "$run" "$name" "$p50" "$p90" "$p99" "$rps" "$reqs" "$note"
	local want='{}'
	[[ -z ${EXPECT_STATUS-} ]] || want="{\"$EXPECT_STATUS\":$reqs}"
	if [[ $errors != 0 || $non2xx != "$want" ]]; then
		bad=1
		echo "  !! $name run $run: $errors errors, non-2xx by status $non2xx; bench/load said:" >&2
		sed 's/^/  !! /' "$out" >&2
	fi
}

# measure_header prints the header of measure's rows.
measure_header() {
	printf '%-4s %-10s %9s %9s %9s %10s %9s\n' run case p50_ms p90_ms p99_ms req/s requests
}

# median CASE FIELD prints the median of column FIELD (3 p50, 4 p90, 5 p99,
# 6 req/s) of a case's runs.
median() {
	awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$results" |
		sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# summary_row CASE LABEL prints a case's medians.
summary_row() {
	printf '  %-40s %9s %9s %9s %10.0f\n' "$2" "$(median "$1" 3)" "$(median "$1" 4)" \
		"$(median "$1" 5)" "$(median "$1" 6)"
}

# server_rss prints the server's peak and current RSS.
server_rss() {
	local peak_kb rss_kb
	peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)
	rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)
	[[ -n $peak_kb ]] || return 0
	printf '  %-40s %.1f MB (now %.1f MB)\n' "server peak RSS (VmHWM):" \
		"$(calc "$peak_kb / 1024")" "$(calc "${rss_kb:-0} / 1024")"
}

# finish checks the server's log for errors, stops the server (which must
# exit 0 on SIGTERM), prints how to reproduce the run, and fails if any
# request failed.
finish() {
	if grep -q '"level":"ERROR"' "$tmp/server.log"; then
		echo "the server logged errors:" >&2
		grep '"level":"ERROR"' "$tmp/server.log" | head -n 10 >&2
		bad=1
	fi
	local status=0
	stop_server || status=$?
	((status == 0)) || {
		show_log
		die "promo serve exited with status $status on SIGTERM, want 0"
	}
	echo
	echo "reproduce, from the repository root: $1"
	((bad == 0)) || die "some requests failed (see the !! lines above)"
}
