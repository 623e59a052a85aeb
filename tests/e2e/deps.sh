#!/usr/bin/env bash
# make e2e-deps: install, from the npm registry, the routers the end-to-end suites run
# (and tests/integration/migrate.bats reads), as a step of its own before any test runs,
# so that a registry failure shows as one:
#
#   tests/e2e      router 1.0.73, npm ci of its package-lock.json
#   tests/e2e/v2   router 2.0.0, npm ci of its package-lock.json
#   CACHE          router 3.1.1 and Node 22 (v3/setup.sh), CACHE being $CCR_E2E_CACHE
#                  or build/e2e-cache
#
#   tests/e2e/deps.sh [--or-skip] [DIR...]
#
# With DIRs (tests/e2e/lib.bash names the one a suite needs), only the routers of
# those directories. What is already installed at its pinned version is kept. Exit 0 when all are ready, 2
# when they cannot be installed for want of npm or of a registry that answers, 1 on any
# other failure; stderr says why. With --or-skip (as a prerequisite of make test) the
# want of npm or a registry is reported and exits 0: the suites that need a router
# then skip and say why, as they do when run alone.
set -u
cd "$(dirname "$0")/../.."
or_skip=0
if [ "${1:-}" = --or-skip ]; then
	or_skip=1
	shift
fi
NPM_NET=(--no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=1000
	--fetch-retry-maxtimeout=2000 --fetch-timeout=20000)

# finish STATUS MESSAGE: say why, and exit as --or-skip says.
finish() {
	echo "e2e-deps: $2" >&2
	if [ "$1" -eq 2 ] && [ "$or_skip" = 1 ]; then
		echo "e2e-deps: going on; the suites that need a router will skip" >&2
		exit 0
	fi
	exit "$1"
}

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	finish 2 "node/npm not installed: cannot install the routers"

# pinned DIR: the router version DIR's package-lock.json pins.
pinned() {
	node -p 'require(process.argv[1]).packages["node_modules/@musistudio/claude-code-router"].version' \
		"$(cd "$1" && pwd)/package-lock.json" 2>/dev/null
}

# installed DIR: the router version installed under DIR/node_modules, or nothing.
installed() {
	node -p 'require(process.argv[1]).version' \
		"$(cd "$1" && pwd)/node_modules/@musistudio/claude-code-router/package.json" 2>/dev/null
}

if [ $# -gt 0 ]; then
	dirs=("$@") v3=0
else
	dirs=(tests/e2e tests/e2e/v2) v3=1
fi
for dir in "${dirs[@]}"; do
	want=$(pinned "$dir")
	[ -n "$want" ] || finish 1 "$dir/package-lock.json pins no claude-code-router"
	[ "$(installed "$dir")" = "$want" ] && continue
	echo "e2e-deps: npm ci --prefix $dir (router $want)"
	if out=$(timeout 300 npm ci --prefix "$dir" --ignore-scripts "${NPM_NET[@]}" 2>&1); then
		[ "$(installed "$dir")" = "$want" ] && continue
		finish 1 "npm ci succeeded but $dir holds no router $want"
	fi
	if timeout 30 npm ping --fetch-retries=0 --fetch-timeout=20000 >/dev/null 2>&1; then
		finish 1 "npm ci --prefix $dir failed although the registry answers:
$(printf '%s\n' "$out" | tail -n 15)"
	fi
	reason=$(printf '%s\n' "$out" | grep -m1 'request to' ||
		printf '%s\n' "$out" | grep -m1 'npm error code' ||
		printf '%s\n' "$out" | tail -n 1)
	finish 2 "npm registry unreachable: ${reason#npm error }"
done

[ "$v3" = 1 ] || exit 0
cache=${CCR_E2E_CACHE:-build/e2e-cache}
out=$(tests/e2e/v3/setup.sh "$cache" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 0 ] || finish "$rc" "router 3.1.1 / Node 22 (tests/e2e/v3/setup.sh $cache):
$(printf '%s\n' "$out" | tail -n 20)"
