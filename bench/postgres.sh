#!/usr/bin/env bash
# bench/postgres.sh: the performance figures of promo serve on PostgreSQL,
# each against a floor measured on the same machine in the same run.
#
# It needs a PostgreSQL that PG_URL (default
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable) reaches with the
# right to create schemas and databases, and psql and pgbench. Everything
# it creates has a random name: a schema per generation run and one for the
# redemptions (bench_<hex>), passed to promo as search_path in the URL, and
# a database for pgbench (bench_pgbench_<hex>); all are dropped at the end,
# also when the script fails or is interrupted.
#
# 1. Generation, RUNS times, interleaved (ours, floor, ours, ...):
#
#   ours    `promo serve --database URL` on a fresh schema (a new one every
#           run): POST /v1/campaigns with vouchers_count 1,000,000 and
#           pattern SUM-####-####, then GET /v1/async-actions/{id} every
#           100 ms until DONE. The time is the wall time from sending the
#           POST to seeing DONE, so it includes up to one polling interval.
#           Untimed, the campaign must then hold exactly 1,000,000 vouchers.
#   floor   BenchmarkCopyFloor in internal/postgres: the same number of rows
#           in the same batches, each a raw COPY in its own transaction, into
#           a bare table with the vouchers' columns and unique key. What
#           storing the codes costs at the least. In the same process,
#           BenchmarkInsertVouchers, the store's InsertVouchers alone on a
#           fresh schema, shows how much of the rest is the store's. Both
#           run from a test binary compiled once, as
#             PROMO_TEST_POSTGRES_URL=$PG_URL go test -run '^$' \
#               -bench '^Benchmark(CopyFloor|InsertVouchers)$' -benchtime 1x ./internal/postgres
#
# 2. Redemption, RUNS times, interleaved (pgbench, ours, pgbench, ...):
#
#   pgbench pgbench -N -c 16 -j 2 -T DURATION on a database initialized
#           with pgbench -i -s 10: the simple-update transactions of
#           PostgreSQL's own benchmark, what the database sustains; its tps
#           without the initial connection time.
#   ours    one promo serve --database URL node, a STATIC campaign of
#           REDEEM_CODES (300,000) imported codes of quantity 1 (RDM-R-N for
#           run R, imported 100,000 per POST /v1/campaigns/{id}/import),
#           and bench/load with 64 keep-alive clients for DURATION after a
#           1 s uncounted warm-up: POST /v1/redemptions of RDM-R-N by the new
#           customer cust-R-N with an order of 50.00. A run stops after its
#           share of the codes, REDEEM_CODES/RUNS requests ("capped"). After
#           the runs, GET /v1/redemptions?campaign=...&result=SUCCESS must
#           total the redemptions that were answered 200, warm-ups included.
#
# Targets (medians over RUNS runs):
#
#   generation wall time             <= 5 s
#   generation ours/floor            <= 1.5
#   redeem req/s / pgbench -N tps    >= 0.5
#
# Everything runs on one machine: the server, PostgreSQL, pgbench and the
# load generator take CPU from one another.
#
# Usage, from anywhere:
#
#   bash bench/postgres.sh                         # RUNS=3, DURATION=10s
#   RUNS=1 DURATION=5s bash bench/postgres.sh      # a quick look
#
# The exit status is non-zero if PostgreSQL, psql or pgbench are missing, a
# build fails, the server fails, a generation stores the wrong number of
# vouchers, a benchmark fails, a measured request got an error or a non-2xx
# answer, or a redemption answered 200 is missing. Targets that are not met
# print FAIL but do not change the exit status. Needs Go and curl.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
BENCH=postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

readonly COUNT=1000000
readonly PATTERN='SUM-####-####'
readonly FLOOR_BENCH='BenchmarkCopyFloor'
readonly STORE_BENCH='BenchmarkInsertVouchers'
readonly MAX_GEN_S=5
readonly MAX_GEN_RATIO=1.5
readonly WARMUP=1s
readonly PGBENCH_SCALE=10
readonly PGBENCH_CLIENTS=16
readonly PGBENCH_THREADS=2
readonly MIN_REDEEM_RATIO=0.5

runs=${RUNS:-3}
clients=${CLIENTS:-64}
duration=${DURATION:-10s}
codes=${REDEEM_CODES:-300000}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
for v in runs clients codes; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
# pgbench -T takes whole seconds.
[[ $duration =~ ^([1-9][0-9]*)s$ ]] || die "DURATION must be whole seconds such as 10s, not '$duration'"
duration_s=${BASH_REMATCH[1]}
[[ $pg_url =~ ^postgres(ql)?://[^/?]+/[^?]*(\?.*)?$ ]] ||
	die "PG_URL must be a postgres:// URL with a database, not '$pg_url'"

# The tools, and PostgreSQL itself, are checked before anything is built.
pg_bin=
for d in /usr/lib/postgresql/*/bin; do
	[[ -x $d/pgbench ]] && pg_bin=$d
done
find_tool() {
	if command -v "$1" >/dev/null; then
		command -v "$1"
	elif [[ -n $pg_bin && -x $pg_bin/$1 ]]; then
		echo "$pg_bin/$1"
	else
		die "$1 is not installed (nor in /usr/lib/postgresql/*/bin): it comes with PostgreSQL's client tools"
	fi
}
psql=$(find_tool psql)
pgbench=$(find_tool pgbench)
# sql runs statements with psql on PG_URL's database, stopping at the first
# error; notices (such as what a DROP SCHEMA CASCADE drops) are not shown.
sql() {
	PGOPTIONS='-c client_min_messages=warning' \
		limit 120 "$psql" -X -q -v ON_ERROR_STOP=1 -At -d "$pg_url" -c "$1"
}
pg_version=$(limit 10 "$psql" -X -At -d "$pg_url" -c 'SHOW server_version' 2>&1) ||
	die "cannot reach PostgreSQL at $pg_url: $pg_version"

# with_param URL KEY=VALUE adds a query parameter to a URL.
with_param() {
	if [[ $1 == *\?* ]]; then echo "$1&$2"; else echo "$1?$2"; fi
}
# with_database URL DB replaces the URL's database.
with_database() {
	sed -E "s|^(postgres(ql)?://[^/?]+/)[^?]*|\1$2|" <<<"$1"
}
random_name() {
	echo "$1_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
}

# What the run created in PostgreSQL, dropped on exit: after the server has
# stopped, since its connections would hold the database.
schemas=()
pgbench_db=
drop_scratch() {
	local s
	for s in "${schemas[@]}"; do
		sql "DROP SCHEMA IF EXISTS $s CASCADE" ||
			echo "$BENCH: could not drop schema $s; drop it by hand" >&2
	done
	schemas=()
	if [[ -n $pgbench_db ]]; then
		sql "DROP DATABASE IF EXISTS $pgbench_db WITH (FORCE)" ||
			echo "$BENCH: could not drop database $pgbench_db; drop it by hand" >&2
		pgbench_db=
	fi
}
trap 'cleanup; drop_scratch' EXIT

# new_schema creates a schema with a random name and sets schema and db_url,
# the URL promo gets.
new_schema() {
	schema=$(random_name bench)
	schemas+=("$schema")
	sql "CREATE SCHEMA $schema" || die "cannot create schema $schema"
	db_url=$(with_param "$pg_url" "search_path=$schema")
}
drop_schema() {
	sql "DROP SCHEMA $1 CASCADE" || die "cannot drop schema $1"
	local s kept=()
	for s in "${schemas[@]}"; do
		[[ $s == "$1" ]] || kept+=("$s")
	done
	schemas=("${kept[@]}")
}

# list_total FILE prints the total of the list envelope in FILE: the last
# "total", since each item in the list may have lists of its own.
list_total() {
	{ grep -oE '"total":[[:space:]]*[0-9]+' "$1" || true; } | tail -n 1 | sed -E 's/.*:[[:space:]]*//'
}

# check_log fails if the server logged errors.
check_log() {
	if grep -q '"level":"ERROR"' "$tmp/server.log"; then
		grep '"level":"ERROR"' "$tmp/server.log" | head -n 10 >&2
		die "$1: the server logged errors"
	fi
}

# stop_checked stops the server, which must exit 0 on SIGTERM.
stop_checked() {
	local status=0
	stop_server || status=$?
	((status == 0)) || {
		show_log
		die "promo serve exited with status $status on SIGTERM, want 0"
	}
}

header "PostgreSQL benchmark: RUNS=$runs; generation of $(commas "$COUNT") codes; redemptions with $clients clients against pgbench -N, $duration per run"
echo "pg:      PostgreSQL $pg_version at $pg_url; $pgbench"

go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"
go build -o "$tmp/load" ./bench/load || die "cannot build bench/load"
go test -c -o "$tmp/postgres.test" ./internal/postgres || die "cannot build the tests of internal/postgres"
for b in "$FLOOR_BENCH" "$STORE_BENCH"; do
	[[ -n $("$tmp/postgres.test" -test.list "^$b\$") ]] || die "internal/postgres has no $b"
done

# ---- 1. generation

# gen_ours RUN generates COUNT codes on a fresh server and schema, prints a
# row and appends the figures to $results.
gen_ours() {
	local run=$1 start wall action processing peak_kb count gen total
	new_schema
	start_server --database "$db_url" >/dev/null

	start=$EPOCHREALTIME
	api POST /v1/campaigns "{\"name\":\"bench-generate-$run\",\"campaign_type\":\"DISCOUNT_COUPONS\",\"type\":\"STATIC\",\"vouchers_count\":$COUNT,\"voucher\":{\"type\":\"DISCOUNT_VOUCHER\",\"discount\":{\"type\":\"AMOUNT\",\"amount_off\":1000},\"code_config\":{\"pattern\":\"$PATTERN\"}}}"
	action=$(json async_action_id "$tmp/resp")
	[[ -n $action ]] || die "POST /v1/campaigns returned no async_action_id: $(head -c 2000 "$tmp/resp")"
	wait_action "$action"
	wall=$(calc "$EPOCHREALTIME - $start")
	processing=$(json processing_time "$tmp/resp")
	processing=$(calc "${processing:-0} / 1000")
	peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || true)

	# Untimed: the campaign and the list agree that all the codes are there.
	api GET "/v1/campaigns/bench-generate-$run"
	count=$(json vouchers_count "$tmp/resp")
	gen=$(json vouchers_generation_status "$tmp/resp")
	[[ $count == "$COUNT" && $gen == DONE ]] ||
		die "run $run: campaign has vouchers_count $count and vouchers_generation_status $gen, want $COUNT and DONE"
	api GET "/v1/vouchers?campaign=bench-generate-$run&limit=1"
	total=$(list_total "$tmp/resp")
	[[ $total == "$COUNT" ]] || die "run $run: GET /v1/vouchers says total $total, want $COUNT"

	check_log "generation run $run"
	stop_checked
	drop_schema "$schema"

	echo "ours $run $wall ${peak_kb:-0} $processing" >>"$results"
	printf '%-4s %-22s %8.3f   processing_time %.3f s, peak RSS %.1f MB\n' "$run" ours "$wall" \
		"$processing" "$(calc "${peak_kb:-0} / 1024")"
}

# bench_seconds NAME OUTPUT prints the seconds per op of benchmark NAME in
# go test's OUTPUT.
bench_seconds() {
	local ns
	ns=$(awk -v b="$1" '$1 ~ "^" b "(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i + 1) == "ns/op") print $i }' <<<"$2" | head -n 1)
	[[ -n $ns ]] || {
		echo "$2" >&2
		die "cannot find the ns/op of $1 in its output"
	}
	calc "$ns / 1e9"
}

# gen_floor RUN runs the floor and the store's benchmark once, prints rows
# and appends their figures to $results.
gen_floor() {
	local run=$1 out copy_s store_s
	out=$(cd internal/postgres && PROMO_TEST_POSTGRES_URL=$pg_url limit 600 "$tmp/postgres.test" \
		-test.run '^$' -test.bench "^($FLOOR_BENCH|$STORE_BENCH)\$" -test.benchtime 1x -test.count 1 2>&1) || {
		echo "$out" >&2
		die "$FLOOR_BENCH or $STORE_BENCH failed"
	}
	if grep -q -- '--- SKIP' <<<"$out"; then
		echo "$out" >&2
		die "$FLOOR_BENCH or $STORE_BENCH skipped"
	fi
	copy_s=$(bench_seconds "$FLOOR_BENCH" "$out")
	store_s=$(bench_seconds "$STORE_BENCH" "$out")
	echo "floor $run $copy_s $store_s" >>"$results"
	printf '%-4s %-22s %8.3f   (%s: %.3f s)\n' "$run" "floor" "$copy_s" "$STORE_BENCH" "$store_s"
}

echo
echo "-- generation: $(commas "$COUNT") codes of $PATTERN"
printf '%-4s %-22s %8s\n' run case wall_s
for ((r = 1; r <= runs; r++)); do
	gen_ours "$r"
	gen_floor "$r"
done

# ---- 2. redemption

pgbench_db=$(random_name bench_pgbench)
sql "CREATE DATABASE $pgbench_db" || die "cannot create database $pgbench_db"
pgbench_url=$(with_database "$pg_url" "$pgbench_db")
start=$EPOCHREALTIME
out=$(limit 300 "$pgbench" -i -q -s "$PGBENCH_SCALE" "$pgbench_url" 2>&1) || {
	echo "$out" >&2
	die "pgbench -i -s $PGBENCH_SCALE failed"
}
echo
echo "-- redemption: $clients clients on one node against pgbench -N -c $PGBENCH_CLIENTS -j $PGBENCH_THREADS"
printf 'setup:   pgbench -i -s %s in %.2f s\n' "$PGBENCH_SCALE" "$(calc "$EPOCHREALTIME - $start")"

new_schema
start_server --database "$db_url"
setup_redeem_codes
echo "setup:   each redeem run stops after $(commas "$per_run") requests, its share of the codes"

# pgbench_run RUN runs pgbench -N once, prints a row like measure's and
# appends its figures to $results: latency average (in the place of p50),
# tps, transactions.
pgbench_run() {
	local run=$1 out tps lat txns failed
	out=$(limit $((duration_s + 120)) "$pgbench" -N -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" \
		-T "$duration_s" "$pgbench_url" 2>&1) || {
		echo "$out" >&2
		die "pgbench -N failed"
	}
	# "without initial connection time" since PostgreSQL 14, "excluding
	# connections establishing" before.
	tps=$(sed -nE 's/^tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\).*/\1/p' <<<"$out" | head -n 1)
	lat=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' <<<"$out" | head -n 1)
	txns=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' <<<"$out" | head -n 1)
	failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' <<<"$out" | head -n 1)
	[[ -n $tps ]] || {
		echo "$out" >&2
		die "cannot find the tps of pgbench in its output"
	}
	[[ ${failed:-0} == 0 ]] || {
		echo "$out" >&2
		die "pgbench -N had $failed failed transactions"
	}
	echo "pgbench $run ${lat:-0} - - $tps ${txns:-0}" >>"$results"
	printf '%-4s %-10s %9s %9s %9s %10.0f %9s  latency average %s ms\n' "$run" pgbench - - - "$tps" \
		"${txns:--}" "${lat:--}"
}

echo
measure_header
for ((r = 1; r <= runs; r++)); do
	pgbench_run "$r"
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
stored=$(list_total "$tmp/resp")
[[ $stored == "$answered" ]] || {
	bad=1
	echo "  !! $answered redemptions answered 200, $stored stored" >&2
}
echo "check:   $(commas "$answered") redemptions answered 200, $(commas "$stored") stored"

# ---- summary

gen_s=$(median ours 3)
floor_s=$(median floor 3)
store_s=$(median floor 4)
gen_ratio=$(calc "$gen_s / $floor_s")
redeem_rps=$(median redeem 6)
pgbench_tps=$(median pgbench 6)
redeem_ratio=$(calc "$redeem_rps / $pgbench_tps")

echo
echo "== summary: medians of $runs runs =="
printf '  %-44s %8.3f s\n' "generation, ours (POST to DONE):" "$gen_s"
printf '  %-44s %8.3f s\n' "generation, ours, processing_time:" "$(median ours 5)"
printf '  %-44s %8.3f s\n' "generation, floor ($FLOOR_BENCH):" "$floor_s"
printf '  %-44s %8.3f s   (%.2fx the floor)\n' "generation, store ($STORE_BENCH):" "$store_s" "$(calc "$store_s / $floor_s")"
printf '  %-44s %8.1f MB\n' "generation, server peak RSS (VmHWM):" "$(calc "$(median ours 4) / 1024")"
printf '  %-44s %8.0f req/s   p50 %s ms, p99 %s ms\n' "redeem, ours ($clients clients, $duration):" "$redeem_rps" \
	"$(median redeem 3)" "$(median redeem 5)"
printf '  %-44s %8.0f tps\n' "pgbench -N -c $PGBENCH_CLIENTS ($duration):" "$pgbench_tps"
target() { printf '  %-44s %-12s %-16s %s\n' "$1" "$2" "$3" "$(verdict "$4")"; }
target "generation wall time:" "$(printf '%.3f s' "$gen_s")" "<= $MAX_GEN_S s" "$gen_s <= $MAX_GEN_S"
target "generation ours/floor:" "$(printf '%.2f' "$gen_ratio")" "<= $MAX_GEN_RATIO" "$gen_ratio <= $MAX_GEN_RATIO"
target "redeem req/s / pgbench tps:" "$(printf '%.2f' "$redeem_ratio")" ">= $MIN_REDEEM_RATIO" "$redeem_ratio >= $MIN_REDEEM_RATIO"
server_rss
finish "RUNS=$runs CLIENTS=$clients DURATION=$duration REDEEM_CODES=$codes PG_URL='$pg_url' bash bench/postgres.sh"
