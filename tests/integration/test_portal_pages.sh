#!/bin/sh
# test_portal_pages.sh - the order page through every stage of core/order.h (with
# the time each was reached, from the order's events), the done page, and the list
# after a failed order (available with the failure and what to fix when a retry can
# help, not possible when it cannot). No worker exists yet, so the order's progress
# is written into the store the way the worker records it (state + event); the
# pages are what is tested.
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh

portal_setup || { echo "Bail out! portal setup failed"; exit 1; }
U=$PORTAL_URL
B=$WORK/b
get() { curl -s -o "$B" -w '%{http_code}' -b "$WORK/jar" "$U$1"; }
curl -s -o /dev/null -c "$WORK/jar" --data 'member_id=m0001&password=Yamada-Pass-2026' "$U/login"

# advance ORDER FROM TO AT [FAILURE RETRYABLE]: what the worker records for one step
advance() {
	python3 - "$DB" "$@" <<'PY'
import sqlite3, sys
db, order, frm, to, at = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
failure = sys.argv[6] if len(sys.argv) > 6 else None
retry = int(sys.argv[7]) if len(sys.argv) > 7 else None
c = sqlite3.connect(db, timeout=10)
c.execute("UPDATE orders SET state = ?, failure = ?, failure_retryable = ?, updated_at = ? "
          "WHERE order_id = ?", (to, failure, retry, at, order))
c.execute("INSERT INTO events (at, actor, kind, order_id, certificate_id, from_state, to_state) "
          "SELECT ?, 'worker:test', 'order.transition', order_id, certificate_id, ?, ? FROM orders "
          "WHERE order_id = ?", (at, frm, to, order))
c.commit()
PY
}

O=$(sql "SELECT order_id FROM orders WHERE certificate_id = '1002'")
T0=$(date -u +%s)
prev=queued
i=0
for s in preflight key_ready ordered validating finalizing issued installed live notified old_revoked; do
	i=$((i + 1))
	advance "$O" "$prev" "$s" $((T0 + i * 60))
	get "/orders/$O" >/dev/null
	when=$(TZ=Asia/Tokyo date -d "@$((T0 + i * 60))" '+%Y-%m-%d %H:%M')
	check "the order page at $s: marked current, reached at $when, refreshing" \
		sh -c "grep -q 'data-state=\"$s\"' '$B' &&
			grep -q '<li class=\"current\" data-stage=\"$s\"><span>[^<]*</span><time>$when</time>' '$B' &&
			grep -q 'http-equiv=\"refresh\"' '$B'"
	prev=$s
done
check "earlier stages are shown as reached with their times" \
	grep -q '<li class="reached" data-stage="preflight"><span>[^<]*</span><time>[0-9]' "$B"
get /certificates >/dev/null
check "the list shows the stage of the order in progress" \
	sh -c "grep -A0 -o 'id=\"cert-1002\".*' '$B' | grep -q 'class=\"stage\"'"
advance "$O" old_revoked done $((T0 + 900))
get "/orders/$O" >/dev/null
check "the done page: no refresh, how to check the lock and the valid-from date" \
	sh -c "grep -q 'id=\"order-done\"' '$B' && ! grep -q 'http-equiv=\"refresh\"' '$B' &&
		grep -q '鍵のマーク' '$B' && grep -q '有効期間の開始' '$B'"

# a failed order a retry can help: available again, with the failure and what to fix
$CD reissue --certificate 1002 >/dev/null
O2=$(sql "SELECT MAX(order_id) FROM orders WHERE certificate_id = '1002'")
advance "$O2" queued preflight $((T0 + 1000))
advance "$O2" preflight failed $((T0 + 1010)) dns_not_pointing 1
get /certificates >/dev/null
row=$(grep -o 'id="cert-1002".*' "$B" | sed 's|</tr>.*||')
check "after a retryable failure the list offers Reissue again" \
	sh -c "echo '$row' | grep -q 'data-status=\"available\"' && echo '$row' | grep -q 'id=\"reissue-1002\"'"
check "... and shows the failure and what to fix" \
	sh -c "echo '$row' | grep -q 'Aレコードがレンタルサーバを指していません' &&
		echo '$row' | grep -q 'IPアドレスに設定してから'"
get "/orders/$O2" >/dev/null
check "the failed order's page says what failed, with no refresh" \
	sh -c "grep -q 'id=\"order-failed\"' '$B' && ! grep -q 'http-equiv=\"refresh\"' '$B'"

# a failure a retry cannot help: not possible, with that failure
$CD reissue --certificate 1002 >/dev/null
O3=$(sql "SELECT MAX(order_id) FROM orders WHERE certificate_id = '1002'")
advance "$O3" queued failed $((T0 + 1100)) ca_rejected 0
get /certificates >/dev/null
row=$(grep -o 'id="cert-1002".*' "$B" | sed 's|</tr>.*||')
check "after a failure a retry cannot help: not possible, reason order_failed" \
	sh -c "echo '$row' | grep -q 'data-status=\"impossible\"' &&
		echo '$row' | grep -q 'data-reason=\"order_failed\"' && ! echo '$row' | grep -q 'id=\"reissue-1002\"'"
check "the page never names a raw failure code" sh -c "! grep -q 'ca_rejected' '$B'"
done_testing
