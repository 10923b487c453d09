#!/bin/sh
# The campaign's reissue-request mail, as the customers receive it from a
# real SMTP server (aiosmtpd): one mail per affected member listing exactly
# the certificates `certdesk status` shows as affected, with their status, in
# Japanese or English by the member's locale, a Japanese RFC 2047 subject and
# the portal link (followed on a running `certdesk serve`); a CR LF in a
# display name injects no header; a kill -9 halfway and a rerun give each
# member one Message-ID (the one repeat delivery is counted); a reminder goes
# once, only to who has not acted; SMTP down then back only delays it.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/smtp.sh"

setup_inventory || { not_ok "import the sample inventory"; done_testing; exit 1; }
# the first three messages are held 3 s before the server's "250": the third
# is where the kill lands, received but never marked sent
smtp_start --hold-first 3 --hold 3 || { not_ok "start the SMTP server"; done_testing; exit 1; }
PORTAL_PORT=$(free_port)
BASE=http://127.0.0.1:$PORTAL_PORT
cat >>"$WORK/s/certdesk.ini" <<EOF
[provider]
name = さくらインターネット
[mail]
smtp_url = $SMTP_URL
from = noreply@certdesk.test
connect_timeout_ms = 2000
timeout_ms = 8000
lease_seconds = 10
retry_base_ms = 500
retry_cap_ms = 1000
poll_ms = 200
footer_ja = さくらインターネット株式会社\nサポートセンター
footer_en = SAKURA internet Inc.\nSupport Center
[web]
listen = 127.0.0.1:$PORTAL_PORT
base_url = $BASE/
[worker]
in_serve = no
[campaign]
mail_rate_per_second = 1
EOF
G3=$(cat "$INV/g3.dn")
DL=$(cat "$INV/deadline.txt")
$CD campaign create --name g3 --issuer "$G3" --deadline "$DL" >/dev/null ||
	not_ok "create the campaign"
# a display name that reached the store with CR LF in it (the import refuses
# one; the provider's own database may not)
sqlite3 "$DB" "UPDATE members SET display_name = '鈴木 一郎' || char(13, 10) || 'Bcc: victim@example.com' || char(13, 10) || 'X-Evil: 1' WHERE member_id = 'm0004'"

# py: runs $PYCHECK over every received message (msgs), the members (members)
# and every member's `certdesk status --json` (status)
all_status "$INV" >"$WORK/status.json"
py() {
	smtp_json >"$WORK/mail.json"
	"$SMTP_PYTHON" - "$WORK/mail.json" "$INV/members.csv" "$WORK/status.json" "$BASE" <<PY
import csv, json, sys
msgs = json.load(open(sys.argv[1]))
members = {r['member_id']: r for r in csv.DictReader(open(sys.argv[2], encoding='utf-8'))}
status = json.load(open(sys.argv[3]))
base = sys.argv[4]
def by_rcpt(a): return [m for m in msgs if a in m['envelope']['rcpt_tos']]
def notice(m, remind=False): return ('【再送】' in m['subject'] or '[Reminder]' in m['subject']) == remind
$PYCHECK
PY
}

# --- a dry run ----------------------------------------------------------------
$CD campaign notify g3 --dry-run >"$WORK/dry.out"
check "a dry run counts the members and the mails" grep -q "6 member(s); 6 mail(s) to queue" "$WORK/dry.out"
check "and the certificates in them by status and the mails by language" \
	grep -q "in them: .* to reissue, .* not possible, .* in progress; 4 mail(s) in Japanese, 2 in English" "$WORK/dry.out"
check "it shows one rendered mail" grep -q "^Subject: \[さくらインターネット\]【重要】SSLサーバ証明書再発行のお願い" "$WORK/dry.out"
check "it queues nothing" test "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM outbox')" = 0

# --- kill -9 halfway, then the rerun -------------------------------------------
$CD campaign notify g3 >"$WORK/notify1.out" 2>&1 &
NOTIFY_PID=$!
TAP_PIDS="$TAP_PIDS $NOTIFY_PID"
i=0
while [ "$(smtp_count)" -lt 3 ] && [ $i -lt 600 ] && kill -0 $NOTIFY_PID 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 $NOTIFY_PID 2>/dev/null
wait $NOTIFY_PID 2>/dev/null
check "killed halfway: three of six mails had arrived" test "$(smtp_count)" = 3
check "every mail had been queued before the first was sent" \
	test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE dedup_key LIKE 'campaign:1:notice:%'")" = 6
$CD campaign notify g3 >"$WORK/notify2.out" 2>&1
check "the rerun ends well" test $? = 0
check "the rerun queues nobody again" grep -q "0 mail(s) queued, 6 queued before" "$WORK/notify2.out"
check "and delivers the rest" grep -q "delivered: 6 of 6 sent, 0 failed" "$WORK/notify2.out"
check "six distinct Message-IDs arrived" test "$(smtp_distinct_ids)" = 6
repeats=$(smtp_repeats)
echo "# deliveries $(smtp_count), distinct Message-IDs $(smtp_distinct_ids), repeat deliveries $repeats"
check "the mail received but not marked sent when killed came again, with its Message-ID (1 repeat)" \
	test "$repeats" = 1
check "the outbox still holds six campaign mails, all sent" \
	test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE dedup_key LIKE 'campaign:1:notice:%' AND sent_at IS NOT NULL")" = 6
check "each run is an event" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM events WHERE kind = 'campaign.notify' AND campaign_id = 1")" -ge 1

# --- what each member received -----------------------------------------------
PYCHECK="
mailed = set()
for mid, mem in members.items():
    ms = [m for m in by_rcpt(mem['email']) if notice(m)]
    ids = set(m['message_id'] for m in ms)
    if mid == 'm0007':
        assert not ms, mid
        continue
    assert len(ids) == 1, (mid, ids)
    mailed.add(mid)
assert mailed == {'m0001', 'm0002', 'm0003', 'm0004', 'm0005', 'm0006'}, mailed"
check "one Message-ID for each affected member, none for m0007 (no certificate)" py
PYCHECK="
for m in msgs:
    assert not m['defects'], m['defects']
    assert m['content_type'] == 'text/plain' and m['charset'].lower() == 'utf-8', m['content_type']
    h = dict((k.lower(), v) for k, v in m['headers'])
    for k in ['from', 'to', 'subject', 'date', 'message-id', 'mime-version']:
        assert k in h, k
    assert h['from'] == 'さくらインターネット <noreply@certdesk.test>', h['from']
    assert all(len(l) <= 78 for l in m['raw_header_lines'])"
check "every mail is valid MIME, UTF-8 text, complete headers" py
PYCHECK="
for mid in ['m0001', 'm0002', 'm0004', 'm0006']:
    m = by_rcpt(members[mid]['email'])[0]
    assert m['subject'] == '[さくらインターネット]【重要】SSLサーバ証明書再発行のお願い', (mid, m['subject'])
    assert any(l.startswith('Subject: =?UTF-8?B?') for l in m['raw_header_lines']), 'RFC 2047'
    assert '平素よりさくらインターネットをご利用いただき' in m['body']
    assert 'サポートセンター' in m['body']"
check "Japanese members: the RFC 2047 subject decodes to the Japanese subject" py
PYCHECK="
for mid in ['m0003', 'm0005']:
    m = by_rcpt(members[mid]['email'])[0]
    assert m['subject'] == '[さくらインターネット] [Important] SSL server certificate reissue request', m['subject']
    b = m['body']
    assert b.startswith('Dear ' + members[mid]['display_name'] + ','), b[:60]
    assert 'Status:' in b and 'Deadline:' in b and 'Support Center' in b
    assert '状態' not in b"
check "English for the members whose locale is en" py
PYCHECK="
import re
owner = {}
for line in open('$INV/certificates.csv', encoding='utf-8').read().splitlines()[1:]:
    f = line.split(',')
    owner[f[0]] = f[1]
for mid, mem in members.items():
    if mid == 'm0007':
        continue
    m = by_rcpt(mem['email'])[0]
    en = mem['locale'] == 'en'
    want = {s['common_name']: s for s in status
            if owner[s['certificate_id']] == mid and s['deadline'] and s['status'] != 'not_needed'}
    blocks = re.split(r'\n\[\d+\] ', m['body'].replace('\r\n', '\n'))[1:]
    got = {}
    for b in blocks:
        cn = b.split('\n')[0]
        st = re.search(r'(?:状態　　　　:|Status:) +(.*)', b).group(1)
        got[cn] = (st, b)
    assert set(got) == set(want), (mid, sorted(got), sorted(want))
    for cn, s in want.items():
        st, b = got[cn]
        assert st.startswith(s['status_label']), (cn, st, s['status_label'])
        assert s['product_label'] in b, (cn, s['product_label'])
        for r in s['reasons']:
            assert r['text'] in b and r['todo'] in b, (cn, r)"
check "each mail lists exactly the member's affected certificates, with the status, reasons and product of certdesk status" py
PYCHECK="
m = by_rcpt(members['m0003']['email'])[0]
assert 'smith-consulting.example.com' in m['body'] and 'web03' in m['body']
assert 'Not possible' in m['body']
m = by_rcpt(members['m0001']['email'])[0]
assert 'yamada-shoten.example.jp' in m['body'] and 'web01' in m['body']
assert 'yamada-office.example.jp' not in m['body']"
check "spot checks: the servers, a 'not possible' with its reason, a certificate not affected is not listed" py
PYCHECK="
for m in msgs:
    links = [l.strip() for l in m['body'].splitlines() if '/reissue?campaign=' in l]
    assert links == [base + '/reissue?campaign=1'], links"
check "every mail links to <base_url>/reissue?campaign=1" py
PYCHECK="
ms = by_rcpt('ichiro.suzuki@example.jp')
assert len(set(m['message_id'] for m in ms)) == 1
m = ms[0]
names = [k.lower() for k, v in m['headers']]
assert 'bcc' not in names and 'x-evil' not in names, names
assert names.count('to') == 1
assert m['envelope']['rcpt_tos'] == ['ichiro.suzuki@example.jp'], m['envelope']
assert not by_rcpt('victim@example.com')
assert m['body'].splitlines()[0] == '鈴木 一郎 Bcc: victim@example.com X-Evil: 1 様', m['body'][:80]"
check "a display name with CR LF injects no header and no recipient" py

# --- the link works on the portal ---------------------------------------------
$CD serve >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
TAP_PIDS="$TAP_PIDS $SERVE_PID"
if wait_port 127.0.0.1 "$PORTAL_PORT" 30; then
	curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$BASE/reissue?campaign=1" >"$WORK/link.out"
	check "the mail's link leads to the login for the campaign's list" \
		grep -qx "303 $BASE/login?next=%2Fcertificates%3Fcampaign%3D1" "$WORK/link.out"
	check "and the login page answers" \
		test "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/login?next=%2Fcertificates%3Fcampaign%3D1")" = 200
else
	not_ok "certdesk serve did not start"
	sed 's/^/# /' "$WORK/serve.log"
fi
kill $SERVE_PID 2>/dev/null
wait $SERVE_PID 2>/dev/null

# --- reminders -------------------------------------------------------------------
smtp_stop
smtp_start || not_ok "restart the SMTP server"
check "m0002 reissues its one affected certificate" $CD reissue --certificate 1005
$CD campaign remind g3 --days-before 3 >"$WORK/remind3.out" 2>&1
check "a reminder 3 days before is not due 25 days before" grep -q "not due yet" "$WORK/remind3.out"
check "(nothing queued)" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE dedup_key LIKE 'campaign:1:remind-%'")" = 0
before=$(smtp_count)
$CD campaign remind g3 --days-before 30 >"$WORK/remind30.out" 2>&1
check "the 30-day reminder is sent" test $? = 0
check "to the five members who have not acted" grep -q "5 mail(s) queued" "$WORK/remind30.out"
check "five reminders arrived" test "$(($(smtp_count) - before))" = 5
PYCHECK="
rs = [m for m in msgs if notice(m, remind=True)]
got = sorted(r for m in rs for r in m['envelope']['rcpt_tos'])
assert 'hanako.sato@example.jp' not in got, got
assert len(got) == 5, got
for m in rs:
    assert '【再送】【重要】SSLサーバ証明書再発行のお願い' in m['subject'] or '[Reminder] [Important]' in m['subject'], m['subject']"
check "not to m0002, whose reissue is in progress; the subject says it is a reminder" py
$CD campaign remind g3 --days-before 30 >"$WORK/remind30b.out" 2>&1
check "the same reminder again queues nothing" grep -q "0 mail(s) queued, 5 queued before" "$WORK/remind30b.out"
check "and sends nothing" test "$(($(smtp_count) - before))" = 5

# --- SMTP relay down, then back --------------------------------------------------
smtp_stop
before=$(smtp_count)
$CD campaign remind g3 --days-before 28 >"$WORK/remind28.out" 2>&1 &
REMIND_PID=$!
TAP_PIDS="$TAP_PIDS $REMIND_PID"
i=0
while [ -z "$(sqlite3 "$DB" "SELECT 1 FROM outbox WHERE dedup_key LIKE 'campaign:1:remind-28:%' AND last_error IS NOT NULL LIMIT 1")" ] &&
	[ $i -lt 600 ] && kill -0 $REMIND_PID 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
check "with the relay down, the reminder is queued and waits (the error recorded)" \
	test -n "$(sqlite3 "$DB" "SELECT 1 FROM outbox WHERE dedup_key LIKE 'campaign:1:remind-28:%' AND last_error LIKE '%127.0.0.1%' LIMIT 1")"
check "and keeps trying" kill -0 $REMIND_PID
smtp_start || not_ok "start the SMTP server again"
i=0
while kill -0 $REMIND_PID 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait $REMIND_PID
check "once the relay is back, the reminder completes" test $? = 0
check "all five arrived" grep -q "delivered: 5 of 5 sent, 0 failed" "$WORK/remind28.out"
check "each once" test "$(($(smtp_count) - before))" = 5
check "no Message-ID came twice but the one of the kill" test "$(smtp_repeats)" = 1

# --- bad input ----------------------------------------------------------------------
fails "remind without --days-before" "--days-before" $CD campaign remind g3
fails "notify of no such campaign" "no campaign" $CD campaign notify nope
fails "--days-before out of range" "1..366" $CD campaign remind g3 --days-before 0

done_testing
