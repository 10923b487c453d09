#!/bin/sh
# test_browser.sh - the customer's journey in Chromium (tests/browser/portal.mjs,
# playwright-core) in two worlds: the seeded portal of tests/browser/portal-env.sh
# (every status and reason, no worker), and the pipeline world of
# tests/browser/pipeline-env.sh, where `certdesk serve` runs the workers and the
# browser's reissue goes through Pebble g4, nginx and aiosmtpd until the order page
# says done. Then what the member would see: the name serves the g4 certificate,
# valid from the day the done page says; g3 reports the old serial revoked; one
# mail, in the member's language. Screenshots of every page in ja and en go to
# $CERTDESK_BUILD/meson-logs/screenshots/ (or the scratch directory).
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/integration/lib/nginx.sh
. tests/integration/lib/smtp.sh
. tests/browser/portal-env.sh
. tests/browser/pipeline-env.sh

t0=$(date -u +%s)
portal_setup || { echo "Bail out! portal setup failed"; exit 1; }
pipeline_setup || {
	echo "Bail out! pipeline world setup failed"
	tail -n 20 "$WORK"/old-issue.log "$WORK"/pipe-import.log "$WORK"/pipe-serve.log 2>/dev/null | sed 's/^/# /'
	exit 1
}
SHOTS=${CERTDESK_BUILD:-$WORK}/meson-logs/screenshots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
echo "# screenshots: $SHOTS"
echo "# worlds ready after $(($(date -u +%s) - t0)) s"

PORTAL_URL=$PORTAL_URL SHOTS=$SHOTS MEMBER=m0001 PASSWORD=Yamada-Pass-2026 \
	PASSWORD2=Hanako-Pass-2026 CTS_MGMT=$CTS_MGMT PIPE_URL=$PIPE_URL PIPE_MEMBER=p0001 \
	PIPE_PASSWORD=$PIPE_PASSWORD PIPE_CERT=3001 PIPE_CN=$PIPE_CN \
	tests/browser/run.sh portal.mjs >"$WORK/browser.out" 2>&1
rc=$?
valid_from=""
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	"VALID_FROM "*) valid_from=${line#VALID_FROM } ;;
	*) echo "# $line" ;;
	esac
done <"$WORK/browser.out"
check "the browser script ended cleanly" test "$rc" = 0
[ "$rc" = 0 ] || tail -n 30 "$WORK/pipe-serve.log" | sed 's/^/# pipeline serve: /'
echo "# browser journey done after $(($(date -u +%s) - t0)) s"
n=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
check "a screenshot of every page in both languages ($n)" test "$n" -ge 25

# --- what the member sees after the pipeline ------------------------------------------
check "one order for the certificate, done" \
	test "$(pipe_sql "SELECT COUNT(*) || ' ' || MAX(state) FROM orders WHERE certificate_id = '3001'")" = "1 done"
for n in "$PIPE_CN" "www.$PIPE_CN"; do
	check "$n serves a certificate that verifies to g4's root for its name" \
		sh -c "echo | openssl s_client -connect '$PIPE_ADDR:$PIPE_TLS' -servername '$n' \
			-CAfile '$PIPE_G4_ROOTS' -verify_return_error -verify_hostname '$n' >'$WORK/probe.txt' 2>&1"
	serial=$(served_serial "$PIPE_ADDR" "$PIPE_TLS" "$n")
	check "... not the old one (serial $serial)" python3 -c \
		'import sys; sys.exit(0 if sys.argv[1] and int(sys.argv[1], 16) != int(sys.argv[2], 16) else 1)' \
		"$serial" "$PIPE_OLD_SERIAL"
done
nb=$(_served_leaf "$PIPE_ADDR" "$PIPE_TLS" "$PIPE_CN" | openssl x509 -noout -startdate | sed 's/notBefore=//')
nb_utc=$(date -u -d "$nb" +%Y-%m-%d)
nb_local=$(TZ=Asia/Tokyo date -d "$nb" +%Y-%m-%d)
check "the new certificate is valid from today ($nb_utc UTC)" \
	sh -c "test '$nb_utc' = '$(date -u -d "@$t0" +%Y-%m-%d)' || test '$nb_utc' = '$(date -u +%Y-%m-%d)'"
check "the done page's \"valid from\" ($valid_from) is the served certificate's, in the provider's zone ($nb_local)" \
	test "$valid_from" = "$nb_local"
check "g3 reports the old serial revoked" test "$(pebble_serial_status g3 "$PIPE_OLD_SERIAL")" = Revoked
check "the outbox delivered its one mail" \
	pipe_wait_sql "SELECT COUNT(*) || '/' || COUNT(sent_at) FROM outbox" 1/1 60
smtp_json >"$WORK/mail.json"
check "exactly one mail arrived: to the member, in Japanese (the member's language, not the page's)" \
	python3 - "$WORK/mail.json" "$PIPE_CN" <<'PY'
import json, sys
msgs, cn = json.load(open(sys.argv[1])), sys.argv[2]
assert len(msgs) == 1, f"{len(msgs)} messages"
m = msgs[0]
assert m["envelope"]["rcpt_tos"] == ["p0001@example.test"], m["envelope"]
assert "再発行完了" in m["subject"] and cn in m["subject"], m["subject"]
assert "再発行" in m["body"] and not m["defects"], m["defects"]
PY
check "the servers never crashed (no sanitizer report in their logs)" \
	sh -c "! grep -E 'AddressSanitizer|runtime error|LeakSanitizer' '$WORK/serve.log' '$WORK/pipe-serve.log'"
echo "# test took $(($(date -u +%s) - t0)) s"
done_testing
