#!/bin/sh
# test_admin_browser.sh - the operator pages in Chromium (tests/browser/admin.mjs,
# playwright-core) against `certdesk serve` on the admin test world
# (tests/browser/admin-env.sh: orders seeded in every state, no worker). Screenshots
# of the campaigns, the burndown, the failures, the history, search and the
# revocation queue in ja and en go to $CERTDESK_BUILD/meson-logs/screenshots/ as
# admin-*.png (the portal's own screenshots there are left alone).
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh
. tests/browser/admin-env.sh

admin_setup || { echo "Bail out! admin setup failed"; exit 1; }
SHOTS=${CERTDESK_BUILD:-$WORK}/meson-logs/screenshots
mkdir -p "$SHOTS"
rm -f "$SHOTS"/admin-*.png
echo "# screenshots: $SHOTS/admin-*.png"

PORTAL_URL=$PORTAL_URL SHOTS=$SHOTS ADMIN_PW=$(cat "$WORK/admin1.pw") \
	VIEWER_PW=$(cat "$WORK/viewer1.pw") ORDER_1005=$ORDER_1005 ORDER_1014=$ORDER_1014 \
	tests/browser/run.sh admin.mjs >"$WORK/browser.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done <"$WORK/browser.out"
check "the browser script ended cleanly" test "$rc" = 0
n=$(ls "$SHOTS"/admin-*.png 2>/dev/null | wc -l)
check "a screenshot of every operator page in both languages ($n)" test "$n" -ge 15
check "the server never crashed (no sanitizer report in its log)" \
	sh -c "! grep -E 'AddressSanitizer|LeakSanitizer|runtime error' '$WORK/serve.log'"
done_testing
