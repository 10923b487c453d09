#!/bin/sh
# Mail under faults and with the server's demands: a deliverer killed (-9)
# after the server took the message but before it was marked sent redelivers
# it with the same Message-ID when the lease expires (at least once; the repeat
# is counted); the delivery loop stops cleanly on SIGTERM; rate_per_second
# paces sending; AUTH and STARTTLS against an aiosmtpd that requires them.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/smtp.sh"

new_store "$WORK/s"
DB=$WORK/s/certdesk.db
INI=$WORK/s/certdesk.ini
# base settings; each part appends its own [mail] lines (the last one wins)
smtp_python || { not_ok "python3 with aiosmtpd"; done_testing; exit 1; }
SMTP_PORT=$(free_port)
{ smtp_ini; printf 'retry_base_ms = 1000\nretry_cap_ms = 1000\nlease_seconds = 4\ntimeout_ms = 2000\n'; } >>"$INI"
sent_count() { sqlite3 "$DB" "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND rcpt LIKE '$1%'"; }

# --- killed between the server's acceptance and the commit ------------------
smtp_start --hold-first 1 --hold 4 || { not_ok "start the SMTP server"; done_testing; exit 1; }
id=$($CD mail test --queue --to crash@example.jp | sed 's/^queued \(<[^>]*>\).*/\1/')
$CD mail deliver --once >/dev/null 2>&1 &
dpid=$!
TAP_PIDS="$TAP_PIDS $dpid"
# wait until the server holds the message, then kill the deliverer
i=0
while [ "$(smtp_count)" -lt 1 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $dpid 2>/dev/null
wait $dpid 2>/dev/null
check "the server had the message when the deliverer died" test "$(smtp_count)" = 1
check "the outbox does not know it was sent" test "$(sent_count crash)" = 0
check "a pass before the lease expires sends nothing" $CD mail deliver --once
check "(still one message at the server)" test "$(smtp_count)" = 1
sleep 4.2 # lease_seconds = 4
check "after the lease expired a pass delivers it again" $CD mail deliver --once
check "now it is sent" test "$(sent_count crash)" = 1
check "the redelivery carries the same Message-ID" test "$(smtp_message_ids | sort -u)" = "$id"
check "and the repeat is counted (1)" test "$(smtp_repeats)" = 1
smtp_stop

# --- the delivery loop: delivers as mail arrives, stops on SIGTERM ----------
smtp_start || not_ok "restart the SMTP server"
printf '[mail]\npoll_ms = 100\n' >>"$INI"
$CD mail deliver >"$WORK/loop.out" 2>&1 &
lpid=$!
TAP_PIDS="$TAP_PIDS $lpid"
$CD mail test --queue --to loop@example.jp >/dev/null
i=0
while [ "$(sent_count loop)" != 1 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "the loop delivered a mail queued while it ran" test "$(sent_count loop)" = 1
kill -TERM $lpid
wait $lpid
check "the loop exits 0 on SIGTERM" test $? = 0
check "and says what it did" grep -q "^sent 1," "$WORK/loop.out"

# --- pacing ------------------------------------------------------------------
printf '[mail]\nrate_per_second = 10\n' >>"$INI"
for i in 1 2 3 4 5 6; do $CD mail test --queue --to "paced$i@example.jp" >/dev/null; done
t0=$(date +%s%N)
$CD mail deliver --once >"$WORK/paced.out" 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# 6 mails at rate_per_second = 10: ${ms} ms"
check "rate_per_second = 10 spaces 6 mails over at least 0.5 s" test "$ms" -ge 500
check "(all six sent)" test "$(sent_count paced)" = 6
printf '[mail]\nrate_per_second = 0\n' >>"$INI"
smtp_stop

# --- AUTH over STARTTLS --------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$WORK/smtp.key" -out "$WORK/smtp.pem" >/dev/null 2>&1
smtp_start --auth "mailer:s3cret pass" --tls-cert "$WORK/smtp.pem" --tls-key "$WORK/smtp.key" ||
	not_ok "start the SMTP server with AUTH and STARTTLS"
printf 'wrong\n' >"$WORK/s/smtp.pw"
{
	printf '[mail]\nstarttls = required\nca_file = %s\n' "$WORK/smtp.pem"
	printf 'user = mailer\npassword_file = smtp.pw\n'
} >>"$INI"
fails "a wrong password is refused, and says so" "SMTP" \
	$CD mail test --to auth@example.jp
check "the password is not in the error" sh -c "! $CD mail test --to auth@example.jp 2>&1 | grep -q wrong"
printf 's3cret pass\n' >"$WORK/s/smtp.pw"
check "the right password over STARTTLS delivers" $CD mail test --to auth@example.jp
check "(it arrived)" test "$(smtp_json | grep -c '"auth@example.jp"')" -ge 1
printf '[mail]\nstarttls = no\n' >>"$INI"
fails "without STARTTLS the server refuses AUTH and mail" "SMTP" \
	$CD mail test --to auth2@example.jp

done_testing
