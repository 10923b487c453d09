#!/bin/sh
# run.sh SCRIPT.mjs - runs a browser test script with playwright-core from this
# directory's lockfile: `npm ci` first when node_modules is missing or older than
# package-lock.json. Debian's /usr/bin/chromium is the browser (never a download).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.certdesk-lock
if [ ! -f "$stamp" ] || ! cmp -s "$here/package-lock.json" "$stamp"; then
	(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >&2
	cp "$here/package-lock.json" "$stamp"
fi
exec node "$here/$1"
