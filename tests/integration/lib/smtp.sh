# smtp.sh - a real SMTP server for certdesk's integration tests (aiosmtpd,
# through smtpsink.py beside this file) that keeps every message as a file.
# Source it after tap.sh.
#
#   smtp_start [--reject PREFIX]
#                      starts the server on 127.0.0.1 and waits until it answers.
#                      Sets SMTP_PORT (a free port, or the one of an earlier
#                      smtp_start: "down then up" keeps the address), SMTP_DIR
#                      (where the messages are: NNNNNN.eml + NNNNNN.json),
#                      SMTP_PID (registered in TAP_PIDS) and SMTP_URL.
#                      Recipients starting with PREFIX get a 550 refusal.
#   smtp_stop          stops it (the messages stay in SMTP_DIR).
#   smtp_count         number of messages received.
#   smtp_message_ids   each message's Message-ID, one per line, arrival order.
#   smtp_distinct_ids  number of distinct Message-IDs received.
#   smtp_repeats       deliveries whose Message-ID had arrived before.
#   smtp_json          every message parsed back with Python's email package
#                      (decoded headers, body text, envelope, defects) as JSON.
#   smtp_ini           prints a [mail] section for certdesk pointing at the server.
#
# The server needs Debian's python3-aiosmtpd: SMTP_PYTHON is the first of
# $SMTP_PYTHON, /usr/bin/python3, python3 that can import it.

SMTP_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" 2>/dev/null && pwd)
[ -f "$SMTP_LIB_DIR/smtpsink.py" ] || SMTP_LIB_DIR=$(dirname "$0")/lib
SMTP_SINK="$SMTP_LIB_DIR/smtpsink.py"
SMTP_PORT=${SMTP_PORT:-}
SMTP_DIR=${SMTP_DIR:-}
SMTP_PID=""

smtp_python() {
	for py in ${SMTP_PYTHON:-} /usr/bin/python3 python3; do
		if "$py" -c 'import aiosmtpd' 2>/dev/null; then
			SMTP_PYTHON=$py
			return 0
		fi
	done
	echo "# no python3 with aiosmtpd (Debian package python3-aiosmtpd)" >&2
	return 1
}

smtp_start() {
	smtp_python || return 1
	[ -n "$SMTP_PORT" ] || SMTP_PORT=$(free_port)
	[ -n "$SMTP_DIR" ] || SMTP_DIR=$WORK/smtp
	mkdir -p "$SMTP_DIR"
	"$SMTP_PYTHON" "$SMTP_SINK" serve --host 127.0.0.1 --port "$SMTP_PORT" --dir "$SMTP_DIR" \
		"$@" >>"$WORK/smtpsink.log" 2>&1 &
	SMTP_PID=$!
	TAP_PIDS="$TAP_PIDS $SMTP_PID"
	SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
	wait_port 127.0.0.1 "$SMTP_PORT" 20 || { echo "# SMTP server did not start" >&2; return 1; }
}

smtp_stop() {
	[ -n "$SMTP_PID" ] || return 0
	kill "$SMTP_PID" 2>/dev/null
	wait "$SMTP_PID" 2>/dev/null
	SMTP_PID=""
}

smtp_count() { "${SMTP_PYTHON:-python3}" "$SMTP_SINK" count "$SMTP_DIR"; }
smtp_message_ids() { "${SMTP_PYTHON:-python3}" "$SMTP_SINK" ids "$SMTP_DIR"; }
smtp_distinct_ids() { smtp_message_ids | sort -u | grep -c .; }
smtp_repeats() { "${SMTP_PYTHON:-python3}" "$SMTP_SINK" repeats "$SMTP_DIR"; }
smtp_json() { "${SMTP_PYTHON:-python3}" "$SMTP_SINK" json "$SMTP_DIR"; }

smtp_ini() {
	printf '[mail]\nsmtp_url = smtp://127.0.0.1:%s\nfrom = noreply@certdesk.test\n' "$SMTP_PORT"
	printf 'connect_timeout_ms = 2000\ntimeout_ms = 5000\n'
}
