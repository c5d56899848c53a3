#!/usr/bin/env bash
# test/sdk/run.sh: the official Voucherify SDK works against promo serve.
#
# It builds promo, creates an API key in a fresh data directory, starts
# `promo serve` on a free port of 127.0.0.1, and runs sdk.test.js, which
# drives @voucherify/sdk@2.9.0 (pinned in package.json and package-lock.json)
# with apiUrl pointed at that server. The server is always stopped and the
# temporary files removed, whatever happens.
#
# Usage, from anywhere:
#
#   bash test/sdk/run.sh
#
# Needs Go, Node 20 or newer and npm, and the npm registry the first time
# (`npm ci` installs into test/sdk/node_modules, which git ignores; it runs
# again only when package-lock.json has changed since). Exits non-zero if a
# build, the install or any step of the test fails, if the server logs an
# error, or if it does not stop cleanly on SIGTERM.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../.." || exit

readonly SDK_VERSION='2.9.0'
readonly START_TIMEOUT_S=30

die() {
	echo "test/sdk/run.sh: $*" >&2
	exit 1
}

for tool in go node npm; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "need Node 20 or newer, have $(node --version)"

# limit runs a command with a time limit where timeout(1) exists: a hung
# step fails with a message rather than hanging CI.
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
# stop_server sends SIGTERM and waits; it returns the server's exit status.
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

# show_log prints the end of the server's log, for a failure.
show_log() {
	echo "--- last lines of the server's log ($tmp/server.log):" >&2
	tail -n 30 "$tmp/server.log" >&2 || true
}

echo "== build"
go build -o "$tmp/promo" ./cmd/promo || die "cannot build cmd/promo"

echo "== npm ci (@voucherify/sdk@$SDK_VERSION)"
if [[ ! -f test/sdk/node_modules/.package-lock.json ||
	test/sdk/package-lock.json -nt test/sdk/node_modules/.package-lock.json ]]; then
	(cd test/sdk && limit 300 npm ci --no-audit --no-fund) || die "npm ci failed in test/sdk"
else
	echo "node_modules is up to date"
fi
got=$(cd test/sdk && node -p "require('@voucherify/sdk/package.json').version") ||
	die "cannot load @voucherify/sdk from test/sdk/node_modules"
[[ $got == "$SDK_VERSION" ]] || die "installed @voucherify/sdk is $got, want $SDK_VERSION"

echo "== server"
data=$tmp/data
limit 60 "$tmp/promo" apikeys create --json --data-dir "$data" >"$tmp/key.json" ||
	die "promo apikeys create --json failed (or took over 60 s)"
read -r app_id token < <(node -e '
	const k = JSON.parse(require("fs").readFileSync(0, "utf8"));
	if (!k.app_id || !k.token) throw new Error("want app_id and token in " + JSON.stringify(k));
	console.log(k.app_id, k.token);' <"$tmp/key.json") ||
	die "cannot read the key: $(cat "$tmp/key.json")"

"$tmp/promo" serve --addr 127.0.0.1:0 --data-dir "$data" >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!

# The server logs {"msg":"listening","addr":"127.0.0.1:PORT"} once it has
# its port.
addr=
for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
	addr=$(sed -n 's/.*"msg":"listening".*"addr":"\([^"]*\)".*/\1/p' "$tmp/server.log" | head -n 1)
	[[ -z $addr ]] || break
	if ! kill -0 "$server_pid" 2>/dev/null; then
		show_log
		die "promo serve exited before listening"
	fi
	sleep 0.1
done
[[ -n $addr ]] || {
	show_log
	die "promo serve did not log \"listening\" within ${START_TIMEOUT_S}s"
}
url=http://$addr
if [[ -s $tmp/server.out ]]; then
	echo "note: the server printed on stdout although a key existed:" >&2
	cat "$tmp/server.out" >&2
fi

# /healthz is public; wait until it answers 200.
if ! node -e '
	const url = process.argv[1], deadline = Date.now() + 10000;
	(async () => {
	  for (;;) {
	    try { if ((await fetch(url)).status === 200) return; } catch {}
	    if (Date.now() > deadline) { console.error("GET " + url + " did not answer 200"); process.exit(1); }
	    await new Promise((r) => setTimeout(r, 100));
	  }
	})();' "$url/healthz"; then
	show_log
	die "the server is not healthy"
fi
echo "promo serve is up at $url"

echo "== sdk.test.js"
if ! (cd test/sdk && PROMO_URL=$url PROMO_APP_ID=$app_id PROMO_APP_TOKEN=$token limit 300 node sdk.test.js); then
	show_log
	die "the SDK test failed"
fi

# A passing client can still hide a server-side error (a 500 it did not see,
# a background job that failed).
if grep -q '"level":"ERROR"' "$tmp/server.log"; then
	echo "--- the server logged errors:" >&2
	grep '"level":"ERROR"' "$tmp/server.log" >&2
	die "the server logged errors during the test"
fi

echo "== stop"
status=0
stop_server || status=$?
((status == 0)) || {
	show_log
	die "promo serve exited with status $status on SIGTERM, want 0"
}
echo "promo serve stopped cleanly"
echo "PASS: @voucherify/sdk@$SDK_VERSION against promo serve"
