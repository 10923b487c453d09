#!/bin/sh
# test_browser.sh - the customer's journey in Chromium (tests/browser/portal.mjs,
# playwright-core) against `certdesk serve` on the portal test world
# (tests/browser/portal-env.sh). Screenshots of every page in ja and en go to
# $CERTDESK_BUILD/meson-logs/screenshots/ (or the scratch directory).
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh

portal_setup || { echo "Bail out! portal setup failed"; exit 1; }
SHOTS=${CERTDESK_BUILD:-$WORK}/meson-logs/screenshots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
echo "# screenshots: $SHOTS"

PORTAL_URL=$PORTAL_URL SHOTS=$SHOTS MEMBER=m0001 PASSWORD=Yamada-Pass-2026 \
	PASSWORD2=Hanako-Pass-2026 CTS_MGMT=$CTS_MGMT \
	tests/browser/run.sh portal.mjs >"$WORK/browser.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done <"$WORK/browser.out"
check "the browser script ended cleanly" test "$rc" = 0
n=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
check "a screenshot of every page in both languages ($n)" test "$n" -ge 17
check "the server never crashed (no sanitizer report in its log)" \
	sh -c "! grep -E 'AddressSanitizer|LeakSanitizer' '$WORK/serve.log'"
done_testing
