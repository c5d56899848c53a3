#!/usr/bin/env bash
# bench/generate.sh: 1,000,000 codes through the API, against the floor.
#
# It measures two things, RUNS times each, interleaved (ours, floor, ours,
# ...) so that the noise of a shared machine hits both alike:
#
#   ours    `promo serve` on a fresh data directory (a new one every run):
#           POST /v1/campaigns with vouchers_count 1,000,000 and pattern
#           SUM-####-####, then GET /v1/async-actions/{id} every 100 ms until
#           DONE. The time is the wall time from sending the POST to seeing
#           DONE, so it includes up to one polling interval; the async
#           action's own processing_time, when it reports one, is shown too.
#           Untimed, each run then checks that the campaign holds exactly
#           1,000,000 vouchers, and reads the server's peak RSS (VmHWM).
#   floor   BenchmarkInsertFloor in internal/sqlite: the same 1,000,000 rows
#           in the same batches, as plain multi-row INSERTs into a bare
#           table with the same unique key, on the same connection settings.
#           It is what storing the codes costs at the least, so ours/floor
#           says how much the rest costs (generation, the API, the job).
#           It runs as
#             go test -run '^$' -bench '^BenchmarkInsertFloor$' -benchtime 1x -count 1 ./internal/sqlite
#           from a test binary compiled once, so that no run pays for a build.
#
# Targets (medians over RUNS runs):
#
#   ours wall time        <= 8 s
#   ours/floor wall time  <= 1.25
#
# Usage, from anywhere:
#
#   bash bench/generate.sh            # RUNS=3
#   RUNS=1 bash bench/generate.sh
#
# The exit status is non-zero if a build fails, the server fails, the
# generation fails or stores the wrong number of vouchers, or the floor
# benchmark fails. Targets that are not met print FAIL but do not change the
# exit status. Needs Go and curl; each run needs a few hundred MB in $TMPDIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

readonly COUNT=1000000
readonly PATTERN='SUM-####-####'
readonly FLOOR_BENCH='BenchmarkInsertFloor'
readonly MAX_WALL_S=8
readonly MAX_RATIO=1.25
readonly POLL_S=0.1
readonly GENERATION_TIMEOUT_S=300

BENCH=generate.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

runs=${RUNS:-3}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
	echo "generate.sh: RUNS must be a positive integer, not '$runs'" >&2
	exit 2
fi

# results lines: name run wall_s [peak_kb processing_s]

# list_total FILE prints the total of the list envelope in FILE: the last
# "total", since each voucher in the list has lists of its own.
list_total() {
	{ grep -oE '"total":[[:space:]]*[0-9]+' "$1" || true; } | tail -n 1 | sed -E 's/.*:[[:space:]]*//'
}

echo "== generation benchmark: $(commas "$COUNT") codes of $PATTERN through the API, RUNS=$runs =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:    $(uname -sm), $(nproc) CPUs"
echo "go:      $(go version)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)"
echo "tmpdir:  $tmp ($(df -h --output=avail "$tmp" 2>/dev/null | tail -n 1 | tr -d ' ') free)"

go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"
go test -c -o "$tmp/sqlite.test" ./internal/sqlite || die "cannot build the tests of internal/sqlite"
[[ -n $("$tmp/sqlite.test" -test.list "^$FLOOR_BENCH\$") ]] ||
	die "internal/sqlite has no $FLOOR_BENCH"

# ours RUN generates COUNT codes on a fresh server, prints a row and appends
# the figures to $results.
ours() {
	local run=$1 data=$tmp/data-$1 start wall action status processing peak_kb
	start_server --data-dir "$data"

	start=$EPOCHREALTIME
	api POST /v1/campaigns "{\"name\":\"bench-generate-$run\",\"campaign_type\":\"DISCOUNT_COUPONS\",\"type\":\"STATIC\",\"vouchers_count\":$COUNT,\"voucher\":{\"type\":\"DISCOUNT_VOUCHER\",\"discount\":{\"type\":\"AMOUNT\",\"amount_off\":1000},\"code_config\":{\"pattern\":\"$PATTERN\"}}}"
	action=$(json async_action_id "$tmp/resp")
	[[ -n $action ]] || die "POST /v1/campaigns returned no async_action_id: $(head -c 2000 "$tmp/resp")"
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
		sleep "$POLL_S"
	done
	wall=$(calc "$EPOCHREALTIME - $start")
	processing=$(json processing_time "$tmp/resp")
	processing=${processing:+$(calc "$processing / 1000")}
	done_count=$(json done_count "$tmp/resp")
	peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)

	# Untimed: the campaign and the list agree that all the codes are there.
	api GET "/v1/campaigns/bench-generate-$run"
	local count gen
	count=$(json vouchers_count "$tmp/resp")
	gen=$(json vouchers_generation_status "$tmp/resp")
	[[ $count == "$COUNT" && $gen == DONE ]] ||
		die "run $run: campaign has vouchers_count $count and vouchers_generation_status $gen, want $COUNT and DONE"
	[[ -z $done_count || $done_count == "$COUNT" ]] ||
		die "run $run: async action $action says done_count $done_count, want $COUNT"
	api GET "/v1/vouchers?campaign=bench-generate-$run&limit=1"
	local total
	total=$(list_total "$tmp/resp")
	[[ $total == "$COUNT" ]] || die "run $run: GET /v1/vouchers says total $total, want $COUNT"

	if grep -q '"level":"ERROR"' "$tmp/server.log"; then
		grep '"level":"ERROR"' "$tmp/server.log" | head -n 10 >&2
		die "run $run: the server logged errors"
	fi
	status=0
	stop_server || status=$?
	((status == 0)) || {
		show_log
		die "promo serve exited with status $status on SIGTERM, want 0"
	}
	rm -rf "$data"

	echo "ours $run $wall ${peak_kb:-0} ${processing:--}" >>"$results"
	printf '%-4s %-6s %8.3f %14s %10.1f\n' "$run" ours "$wall" "${processing:--}" "$(calc "${peak_kb:-0} / 1024")"
}

# floor RUN runs the floor benchmark once, prints a row and appends its
# figures to $results.
floor() {
	local run=$1 out ns wall
	out=$(cd internal/sqlite && "$tmp/sqlite.test" -test.run '^$' -test.bench "^$FLOOR_BENCH\$" \
		-test.benchtime 1x -test.count 1 2>&1) || {
		echo "$out" >&2
		die "$FLOOR_BENCH failed"
	}
	ns=$(awk -v b="$FLOOR_BENCH" '$1 ~ "^" b "(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i + 1) == "ns/op") print $i }' <<<"$out" | head -n 1)
	[[ -n $ns ]] || {
		echo "$out" >&2
		die "cannot find the ns/op of $FLOOR_BENCH in its output"
	}
	wall=$(calc "$ns / 1e9")
	echo "floor $run $wall" >>"$results"
	printf '%-4s %-6s %8.3f\n' "$run" floor "$wall"
}

echo
printf '%-4s %-6s %8s %14s %10s\n' run what wall_s processing_s peak_MB
for ((r = 1; r <= runs; r++)); do
	ours "$r"
	floor "$r"
done

# median NAME FIELD prints the median of column FIELD of NAME's runs.
median() {
	awk -v n="$1" -v f="$2" '$1 == n && $f != "-" { print $f }' "$results" |
		sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ours_s=$(median ours 3)
floor_s=$(median floor 3)
peak_mb=$(calc "$(median ours 4) / 1024")
processing_s=$(median ours 5)
ratio=$(calc "$ours_s / $floor_s")

echo
echo "== summary: medians of $runs runs, $(commas "$COUNT") codes =="
printf '  %-44s %8.3f s\n' "ours (POST /v1/campaigns to DONE):" "$ours_s"
[[ -z $processing_s ]] || printf '  %-44s %8.3f s\n' "ours, the async action's processing_time:" "$processing_s"
printf '  %-44s %8.3f s\n' "floor ($FLOOR_BENCH):" "$floor_s"
printf '  %-44s %8.1f MB\n' "server peak RSS (VmHWM):" "$peak_mb"
printf '  %-44s %-10s %-16s %s\n' "ours wall time:" "$(printf '%.3f s' "$ours_s")" "target <= $MAX_WALL_S s" \
	"$(verdict "$ours_s <= $MAX_WALL_S")"
printf '  %-44s %-10s %-16s %s\n' "time ratio ours/floor:" "$(printf '%.2f' "$ratio")" "target <= $MAX_RATIO" \
	"$(verdict "$ratio <= $MAX_RATIO")"
echo
echo "reproduce, from the repository root: RUNS=$runs bash bench/generate.sh"
