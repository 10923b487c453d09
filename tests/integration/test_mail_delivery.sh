#!/bin/sh
# Mail, as the customer's mail program sees it: certdesk's messages reach a
# real SMTP server (aiosmtpd) and parse back with Python's email package
# (Japanese subject, UTF-8 body, sane headers, no header injected by a
# display name); SMTP down then up delays mail but delivers each message once
# with its Message-ID fixed at queueing; refusals and exhausted retries end
# "failed", listed and recorded, never dropped; two deliverers at once send
# each message once.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/smtp.sh"

smtp_start || { not_ok "start the SMTP server"; done_testing; exit 1; }
new_store "$WORK/s"
DB=$WORK/s/certdesk.db
{
	printf '[provider]\nname = さくらインターネット\n'
	smtp_ini
	printf 'retry_base_ms = 1000\nretry_cap_ms = 2000\nmax_attempts = 5\nbatch = 10\n'
	printf 'footer_ja = さくらインターネット株式会社\\nサポートセンター\n'
} >>"$WORK/s/certdesk.ini"

# py CHECK: runs a Python check over every received message (list `msgs`)
py() {
	smtp_json >"$WORK/mail.json"
	"$SMTP_PYTHON" - "$WORK/mail.json" "$@" <<PY
import json, sys
msgs = json.load(open(sys.argv[1]))
args = sys.argv[2:]
$PYCHECK
PY
}
# by_rcpt ADDR: the messages to ADDR
PYHEAD='def by_rcpt(a): return [m for m in msgs if a in m["envelope"]["rcpt_tos"]]'

# --- what a customer receives --------------------------------------------
check "mail test (ja) is accepted by the server" \
	$CD mail test --to alice@example.jp --name "山田 太郎"
check "mail test (en) is accepted by the server" \
	$CD mail test --to bob@example.jp --lang en --name 'Bob "The" Builder'
PYCHECK="$PYHEAD
m = by_rcpt('alice@example.jp')[0]
want = '[さくらインターネット]【完了】SSLサーバ証明書再発行完了のお知らせ（example.jp）'
assert m['subject'] == want, m['subject']
assert any(l.startswith('Subject: =?UTF-8?B?') for l in m['raw_header_lines']), 'RFC 2047'"
check "the Japanese subject decodes (RFC 2047) to the Japanese text" py
PYCHECK="$PYHEAD
m = by_rcpt('alice@example.jp')[0]
assert m['content_type'] == 'text/plain' and m['charset'].lower() == 'utf-8', m
b = m['body']
for s in ['山田 太郎 様', 'example.jp、www.example.jp', '鍵マーク', '有効期間の開始日', 'シリアル番号', 'SHA-256', '短縮', 'サポートセンター']:
    assert s in b, s"
check "the body is UTF-8 text with the names, validity, serial, fingerprint, browser check, footer" py
PYCHECK="$PYHEAD
for m in msgs:
    assert not m['defects'], m['defects']
    h = dict((k.lower(), v) for k, v in m['headers'])
    for k in ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding']:
        assert k in h, k
    assert h['auto-submitted'] == 'auto-generated'
    assert h['from'] == 'さくらインターネット <noreply@certdesk.test>', h['from']
    assert all(len(l) <= 78 for l in m['raw_header_lines']), 'a header line over 78'
    assert m['message_id'].startswith('<') and m['message_id'].endswith('@certdesk.test>')"
check "headers are complete, unbroken, folded within 78 characters" py
PYCHECK="$PYHEAD
m = by_rcpt('bob@example.jp')[0]
assert m['subject'] == '[さくらインターネット] Your SSL server certificate has been reissued (example.jp)', m['subject']
assert m['to_names'] == ['Bob \"The\" Builder'], m['to_names']
assert 'lock icon' in m['body'] and 'valid from' in m['body']"
check "the English mail by --lang en, a quoted display name intact" py

$CD mail test --to eve@example.jp --name "$(printf 'Eve\r\nBcc: victim@example.com\r\nX-Evil: 1')" >/dev/null
PYCHECK="$PYHEAD
ms = by_rcpt('eve@example.jp')
assert len(ms) == 1
m = ms[0]
names = [k.lower() for k, v in m['headers']]
assert 'bcc' not in names and 'x-evil' not in names, names
assert names.count('to') == 1
assert m['to_names'] == ['Eve Bcc: victim@example.com X-Evil: 1'], m['to_names']
assert m['envelope']['rcpt_tos'] == ['eve@example.jp'], m['envelope']
assert not by_rcpt('victim@example.com')
assert 'Eve Bcc: victim@example.com X-Evil: 1 様' in m['body'].splitlines()[0], m['body'][:80]"
check "CR LF in a display name injects no header and no recipient" py
fails "a recipient with CR LF is refused" "not a mail address" \
	$CD mail test --to "$(printf 'a@example.jp\r\nRCPT TO:<b@example.jp>')"

# --- SMTP down, then up: delayed, then each message exactly once ------------
smtp_stop
: >"$WORK/queued"
for i in 1 2 3 4 5; do
	$CD mail test --queue --to "down$i@example.jp" | sed 's/^queued \(<[^>]*>\).*/\1/' >>"$WORK/queued"
done
check "five mails queued while the server is down" test "$(grep -c '@' "$WORK/queued")" = 5
check "a delivery pass with the server down does not fail" $CD mail deliver --once
check "they are all still pending" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE kind='test' AND sent_at IS NULL AND failed_at IS NULL")" = 5
check "the connection error is recorded" test -n "$(sqlite3 "$DB" "SELECT last_error FROM outbox WHERE last_error LIKE '%127.0.0.1%' LIMIT 1")"
$CD mail list --pending >"$WORK/pending.out"
check "mail list --pending shows them" test "$(grep -c '^pending' "$WORK/pending.out")" = 5
check "a dead server costs one attempt per pass, not one per message" \
	test "$(sqlite3 "$DB" "SELECT SUM(attempts) FROM outbox WHERE kind='test'")" = 1
smtp_start || not_ok "restart the SMTP server"
before=$(smtp_count)
sleep 2.2 # retry_base_ms = 1000: the retry is due within 2 s
check "after the server is back, a pass delivers them" $CD mail deliver --once
check "the five arrived" test "$(($(smtp_count) - before))" = 5
smtp_message_ids | sort >"$WORK/got"
sort "$WORK/queued" >"$WORK/want"
check "each with the Message-ID fixed when it was queued" sh -c "comm -23 '$WORK/want' '$WORK/got' | grep -c . | grep -qx 0"
check "and no Message-ID twice" test "$(smtp_repeats)" = 0
check "the outbox has nothing pending" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")" = 0

# --- refused for good, and attempts exhausted: failed, listed, recorded ----
smtp_stop
smtp_start --reject nosuch || not_ok "restart the SMTP server with a refusal"
$CD mail test --queue --to nosuch@example.jp >/dev/null
$CD mail deliver --once >/dev/null 2>"$WORK/refused.err"
check "a 550 refusal marks the mail failed at once" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE rcpt='nosuch@example.jp' AND failed_at IS NOT NULL")" = 1
check "it is logged as failed" grep -q "failed for good" "$WORK/refused.err"
check "mail list --failed shows it with the server's reply" sh -c "$CD mail list --failed | grep -A1 nosuch@example.jp | grep -q 550"
check "a mail.failed event records it" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM events WHERE kind='mail.failed' AND detail LIKE '%nosuch@example.jp%'")" = 1
check "mail retry --all makes it due again" sh -c "$CD mail retry --all | grep -q '^1 failed message due again'"
check "(pending once more, same Message-ID)" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE rcpt='nosuch@example.jp' AND failed_at IS NULL AND sent_at IS NULL")" = 1

sqlite3 "$DB" "DELETE FROM outbox WHERE rcpt = 'nosuch@example.jp'"
printf '[mail]\nmax_attempts = 2\n' >>"$WORK/s/certdesk.ini"
smtp_stop
$CD mail test --queue --to late@example.jp >/dev/null
$CD mail deliver --once >/dev/null 2>&1
sleep 2.2
$CD mail deliver --once >/dev/null 2>&1
check "after max_attempts with the server down the mail is failed, not dropped" \
	test "$(sqlite3 "$DB" "SELECT attempts || ' ' || (failed_at IS NOT NULL) FROM outbox WHERE rcpt='late@example.jp'")" = "2 1"
check "and recorded as an event" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM events WHERE kind='mail.failed' AND detail LIKE '%late@example.jp%'")" = 1

# --- two deliverers at once: every message once -----------------------------
smtp_start || not_ok "restart the SMTP server"
check "mail retry MESSAGE-ID makes that one due again" $CD mail retry "$(sqlite3 "$DB" "SELECT message_id FROM outbox WHERE rcpt='late@example.jp'")"
before=$(smtp_count)
i=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	$CD mail test --queue --to "many$i@example.jp" >/dev/null
done
$CD mail deliver --once --limit 3 >/dev/null 2>&1 &
p1=$!
$CD mail deliver --once --limit 3 >/dev/null 2>&1 &
p2=$!
wait $p1; wait $p2
check "two concurrent deliverers sent all 41" test "$(($(smtp_count) - before))" = 41
check "no message was delivered twice" test "$(smtp_repeats)" = 0
check "one distinct Message-ID per message received" test "$(smtp_distinct_ids)" = "$(smtp_count)"

done_testing
