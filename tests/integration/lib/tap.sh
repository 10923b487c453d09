# tap.sh - shared helpers for certdesk's shell integration tests: TAP output,
# a scratch directory removed on exit, and a certdesk with its own config.
# Source it; it sets CD (the certdesk command line) and WORK (the scratch dir).
set -u

: "${CERTDESK:=build/certdesk}"
TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-it.XXXXXX")
# every peer a test starts registers its PID here; the trap stops them all
TAP_PIDS=""

tap_cleanup() {
	for pid in $TAP_PIDS; do kill "$pid" 2>/dev/null; done
	rm -rf "$WORK"
}
# A signal ends the test once its peers are stopped: a trap that only
# cleaned up would let the shell resume the test without them.
tap_signal() {
	tap_cleanup
	trap - EXIT INT TERM
	exit $((128 + $1))
}
trap tap_cleanup EXIT
trap 'tap_signal 2' INT
trap 'tap_signal 15' TERM

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
# check NAME CMD...: passes when CMD exits 0
check() {
	name=$1; shift
	if "$@" >"$WORK/.out" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/# /' "$WORK/.out"; fi
}
# fails NAME SUBSTRING CMD...: passes when CMD exits non-zero and says SUBSTRING
fails() {
	name=$1; want=$2; shift 2
	if "$@" >"$WORK/.out" 2>&1; then
		not_ok "$name (succeeded)"; sed 's/^/# /' "$WORK/.out"
	elif grep -qF -- "$want" "$WORK/.out"; then ok "$name"
	else not_ok "$name (message lacks '$want')"; sed 's/^/# /' "$WORK/.out"; fi
}
# free_port: prints a TCP port free on 127.0.0.1 right now (the kernel picks it)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port HOST PORT [SECONDS]: waits until something accepts connections there
wait_port() {
	python3 - "$1" "$2" "${3:-30}" <<'PY'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + limit
while time.monotonic() < end:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }

# A fresh store in $1 (a directory); sets CD to certdesk with its config.
new_store() {
	mkdir -p "$1"
	printf '[store]\nurl = sqlite:certdesk.db\n[secrets]\nmaster_key_file = master.key\n' \
		>"$1/certdesk.ini"
	CD="$CERTDESK --config $1/certdesk.ini"
	$CD init >/dev/null
}

# Imports the sample inventory made by tests/fixtures/make-inventory in $1.
import_inventory() {
	inv=$1
	for k in members servers sites settings certificates; do
		$CD import "$k" "$inv/$k.csv" >/dev/null || return 1
	done
	for d in "$inv"/installed/*/; do
		$CD import installed --server "$(basename "$d")" "$d" >/dev/null || return 1
	done
}

# Every member's `certdesk status --json`, merged into one JSON array.
all_status() {
	for m in $(cut -d, -f1 "$1/members.csv" | tail -n +2); do
		$CD status --member "$m" --json
	done | python3 -c '
import json, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0; out = []
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    arr, i = dec.raw_decode(text, i)
    out += arr
json.dump(out, sys.stdout)
'
}

# certificate_id<TAB>status<TAB>reason for every member of the inventory.
status_table() {
	all_status "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin): print(o["certificate_id"], o["status"], o["reason"] or "-", sep="\t")
' | sort
}

# The sample inventory in $WORK/inv, imported into a fresh store in $WORK/s.
setup_inventory() {
	INV=$WORK/inv
	tests/fixtures/make-inventory "$INV"
	new_store "$WORK/s"
	DB=$WORK/s/certdesk.db
	import_inventory "$INV"
}
