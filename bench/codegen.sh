#!/usr/bin/env bash
# bench/codegen.sh: how fast, and in how much memory, promo generates codes.
#
# It measures three generators, all writing codes of the pattern SUM-####-####
# over the unambiguous charset (23456789ABCDEFGHJKMNPQRSTUVWXYZ) to /dev/null:
#
#   ours    promo codes generate --count N --pattern SUM-####-#### -o /dev/null
#           (built from ./cmd/promo). Guarantees every code is unique.
#   floor   bench/floor: draws characters from crypto/rand and writes them,
#           with no uniqueness at all. Nothing that also guarantees uniqueness
#           can beat it by much, so ours/floor says how much our uniqueness
#           costs; a ratio near 1 means there is little left to win.
#   npm     the npm package voucher-code-generator@1.3.0, a widely used
#           JavaScript generator, run by node. It keeps every code in an
#           object to reject duplicates and hangs above ~8.4 million codes, so
#           it runs only at 1,000,000 codes. Skipped, with a "skipped:" line,
#           if node or npm is missing or the install fails.
#
# Cases and targets (medians over RUNS runs):
#
#   10,000,000 codes  ours and floor:  ours/floor wall time <= 1.5
#                                      ours peak RSS <= 150 MB
#   1,000,000 codes   ours, npm, and floor for reference:
#                                      npm/ours wall time (speedup) >= 10
#
# Wall time and peak RSS (ru_maxrss of the child) come from bench/measure, a
# tiny Go program, so that nothing beyond Go (and, optionally, node and npm)
# has to be installed. The runs are interleaved (ours, floor, npm, ours, ...)
# so that the noise of a shared machine hits every generator alike, and the
# medians are robust to the odd slow run. Before timing anything, the script
# checks once that ours really writes 1,000,000 distinct, well-formed codes.
#
# Usage, from the repository root (or from anywhere, by the script's path):
#
#   bash bench/codegen.sh            # 5 runs of each
#   RUNS=3 bash bench/codegen.sh     # fewer, faster, noisier
#
# The exit status is non-zero if a build fails, if ours or floor fails, or if
# the correctness check fails. Targets that are not met print FAIL but do not
# change the exit status: the figures of a noisy machine are for reading.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

readonly PATTERN='SUM-####-####'
readonly CHARSET='23456789ABCDEFGHJKMNPQRSTUVWXYZ'
readonly BIG=10000000   # codes in the ours-versus-floor case
readonly SMALL=1000000  # codes in the ours-versus-npm case
readonly NPM_PACKAGE='voucher-code-generator'
readonly NPM_VERSION='1.3.0'
readonly MAX_RATIO='1.5'     # ours/floor wall time at BIG, at most
readonly MAX_RSS_MB='150'    # ours peak RSS at BIG, at most
readonly MIN_SPEEDUP='10'    # npm/ours wall time at SMALL, at least

runs=${RUNS:-5}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
	echo "codegen.sh: RUNS must be a positive integer, not '$runs'" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
results=$tmp/results # lines: codes generator wall_s maxrss_kb

die() {
	echo "codegen.sh: $*" >&2
	exit 1
}

# commas 10000000 prints 10,000,000.
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

echo "== codegen benchmark: $PATTERN, RUNS=$runs =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:    $(uname -sm), $(nproc) CPUs"
echo "go:      $(go version)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo none)"

# Build the three Go programs once.
go build -o "$tmp/measure" ./bench/measure || die "cannot build bench/measure"
go build -o "$tmp/floor" ./bench/floor || die "cannot build bench/floor"
go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"

# Install voucher-code-generator into a fresh directory of its own. npm_skip
# holds the reason it does not run, empty if it does.
npm_skip=
npm_dir=
if ! command -v node >/dev/null; then
	npm_skip="node is not installed"
elif ! command -v npm >/dev/null; then
	npm_skip="npm is not installed"
else
	echo "node:    $(node --version)"
	npm_dir=$(mktemp -d "$tmp/npm.XXXXXX")
	# A package.json keeps npm from installing into some parent directory.
	printf '{"name": "codegen-bench", "private": true}\n' >"$npm_dir/package.json"
	# Without a registry npm can retry for a long time; give it 5 minutes.
	limit=()
	if command -v timeout >/dev/null; then
		limit=(timeout 300)
	fi
	if ! (cd "$npm_dir" &&
		"${limit[@]}" npm install --no-save --no-audit --no-fund "$NPM_PACKAGE@$NPM_VERSION") \
		>"$npm_dir/install.log" 2>&1; then
		why=$(grep -m 3 '^npm error' "$npm_dir/install.log" | sed 's/^npm error //' | paste -sd ';' || true)
		npm_skip="npm install $NPM_PACKAGE@$NPM_VERSION failed: ${why:-$(tail -n 1 "$npm_dir/install.log")}"
	else
		# The generator script: node gen.js COUNT PATTERN CHARSET. Like the
		# others it writes one code per line, all at once, to /dev/null.
		cat >"$npm_dir/gen.js" <<-'EOF'
			'use strict';
			const fs = require('fs');
			const vcg = require('voucher-code-generator');
			const [count, pattern, charset] = process.argv.slice(2);
			const codes = vcg.generate({pattern, count: Number(count), charset});
			if (codes.length !== Number(count)) {
			  throw new Error(`got ${codes.length} codes, want ${count}`);
			}
			fs.writeFileSync('/dev/null', codes.join('\n') + '\n');
		EOF
		got=$(cd "$npm_dir" && node -p "require('$NPM_PACKAGE/package.json').version" 2>&1) || true
		if [[ $got != "$NPM_VERSION" ]]; then
			npm_skip="installed $NPM_PACKAGE is version '$got', not $NPM_VERSION"
		else
			echo "npm:     $NPM_PACKAGE@$got"
		fi
	fi
fi
if [[ -n $npm_skip ]]; then
	echo "skipped: $NPM_PACKAGE: $npm_skip"
fi

# Correctness, once and untimed: ours writes exactly SMALL lines, each a code
# of the pattern over the charset, with no duplicates.
check=$tmp/check.txt
if ! "$tmp/promo" codes generate --count "$SMALL" --pattern "$PATTERN" -o "$check" \
	2>"$tmp/stderr"; then
	cat "$tmp/stderr" >&2
	die "ours failed to generate $SMALL codes for the correctness check"
fi
lines=$(wc -l <"$check")
dups=$(LC_ALL=C sort "$check" | uniq -d | wc -l)
malformed=$(LC_ALL=C grep -Evc "^SUM-[$CHARSET]{4}-[$CHARSET]{4}\$" "$check" || true)
if ((lines != SMALL || dups != 0 || malformed != 0)); then
	echo "first lines of the output:" >&2
	head -n 3 "$check" >&2
	die "correctness check failed: $((lines)) lines (want $SMALL), $((dups)) duplicated codes, $((malformed)) malformed lines"
fi
echo "check:   ours wrote $(commas "$SMALL") codes, 0 duplicates, all well formed (e.g. $(head -n 1 "$check"))"
rm -f "$check"

# run RUN CODES NAME CMD... runs CMD under measure, prints a table row and
# appends the figures to $results, unless RUN is "warm". If CMD fails, it
# prints what CMD wrote to stderr and returns CMD's exit status.
run() {
	local run=$1 codes=$2 name=$3 out line status=0
	shift 3
	out=$("$tmp/measure" -- "$@" </dev/null 2>"$tmp/stderr") || status=$?
	line=$(grep -E '^wall_s=' <<<"$out" | tail -n 1 || true)
	if ((status != 0)); then
		echo "$name failed with exit status $status: $*" >&2
		cat "$tmp/stderr" >&2
		return "$status"
	fi
	if ! [[ $line =~ ^wall_s=([0-9.]+)\ maxrss_kb=([0-9]+)\ exit=0$ ]]; then
		echo "$name: cannot parse the output of measure: '$out'" >&2
		return 1
	fi
	local wall=${BASH_REMATCH[1]} rss_kb=${BASH_REMATCH[2]}
	[[ $run != warm ]] || return 0
	echo "$codes $name $wall $rss_kb" >>"$results"
	printf '%-5s %12s  %-24s %8s %10.1f\n' "$run" "$(commas "$codes")" "$name" \
		"$wall" "$(calc "$rss_kb / 1024")"
}

ours() { run "$1" "$2" ours "$tmp/promo" codes generate --count "$2" --pattern "$PATTERN" -o /dev/null; }
floor() { run "$1" "$2" floor "$tmp/floor" -count "$2" -o /dev/null; }
npm_gen() {
	[[ -z $npm_skip ]] || return 0
	if ! run "$1" "$2" "$NPM_PACKAGE" node "$npm_dir/gen.js" "$2" "$PATTERN" "$CHARSET"; then
		npm_skip="it failed at run $1 (see its error above)"
		[[ $1 != warm ]] || npm_skip="it failed in the warm-up (see its error above)"
		echo "skipped: $NPM_PACKAGE from now on: $npm_skip"
	fi
}

# Warm up, untimed: page in the binaries and node's code once.
echo "warm-up: one uncounted run of each at $(commas "$SMALL") codes"
ours warm "$SMALL" || die "ours failed"
floor warm "$SMALL" || die "floor failed"
npm_gen warm "$SMALL"

echo
printf '%-5s %12s  %-24s %8s %10s\n' run codes generator wall_s peak_MB
for ((i = 1; i <= runs; i++)); do
	ours "$i" "$BIG" || die "ours failed"
	floor "$i" "$BIG" || die "floor failed"
	ours "$i" "$SMALL" || die "ours failed"
	npm_gen "$i" "$SMALL"
	floor "$i" "$SMALL" || die "floor failed"
done

# median CODES NAME FIELD prints the median of column FIELD (3 wall seconds,
# 4 peak RSS in KB) of a generator's runs, or nothing if it has none.
median() {
	awk -v c="$1" -v g="$2" -v f="$3" '$1 == c && $2 == g { print $f }' "$results" |
		sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# figures CODES NAME prints the line of a generator's medians.
figures() {
	printf '  %-24s wall %7.3f s   peak RSS %7.1f MB\n' "$2" \
		"$(median "$1" "$2" 3)" "$(calc "$(median "$1" "$2" 4) / 1024")"
}

ours_big=$(median "$BIG" ours 3)
floor_big=$(median "$BIG" floor 3)
ours_big_mb=$(calc "$(median "$BIG" ours 4) / 1024")
ratio=$(calc "$ours_big / $floor_big")
ours_small=$(median "$SMALL" ours 3)
npm_small=$(median "$SMALL" "$NPM_PACKAGE" 3)

# target LABEL VALUE TARGET VERDICT prints a line of a target.
target() {
	printf '  %-40s %-9s %-18s %s\n' "$@"
}

echo
echo "== summary: medians of $runs runs (MB = 1024 KB of ru_maxrss) =="
echo "$(commas "$BIG") codes:"
figures "$BIG" ours
figures "$BIG" floor
target "time ratio ours/floor:" "$(printf '%.2f' "$ratio")" "target <= $MAX_RATIO" \
	"$(verdict "$ratio <= $MAX_RATIO")"
target "peak RSS of ours:" "$(printf '%.1f MB' "$ours_big_mb")" "target <= $MAX_RSS_MB MB" \
	"$(verdict "$ours_big_mb <= $MAX_RSS_MB")"
echo "$(commas "$SMALL") codes:"
figures "$SMALL" ours
if [[ -n $npm_small ]]; then
	figures "$SMALL" "$NPM_PACKAGE"
fi
figures "$SMALL" floor
if [[ -n $npm_small && -z $npm_skip ]]; then
	speedup=$(calc "$npm_small / $ours_small")
	target "speedup $NPM_PACKAGE/ours:" "$(printf '%.1fx' "$speedup")" "target >= ${MIN_SPEEDUP}x" \
		"$(verdict "$speedup >= $MIN_SPEEDUP")"
else
	echo "  speedup $NPM_PACKAGE/ours: skipped: $npm_skip"
fi
echo
echo "reproduce, from the repository root: RUNS=$runs bash bench/codegen.sh"
