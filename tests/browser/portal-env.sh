# portal-env.sh - the portal's test world, shared by tests/integration/test_portal_*.sh
# and test_browser.sh. Source it after tap.sh and lib/pebble.sh.
#
# portal_setup [EXTRA_INI]: the sample inventory (tests/fixtures/make-inventory) with
#   member m0001 (山田 太郎) owning one certificate of every status and reason:
#     1001 available (installed = this)  1002 in progress (an operator's order)
#     1003 impossible/csr_required       1004 not needed
#     1008 impossible/server_problem     1011 impossible/foreign_certificate_installed
#     1012 impossible/new_setting_exists
#   m0002 (hanako: 1005 available, nothing installed) and m0003 (John Smith, whose
#   display name carries markup) log in with passwords from passwords.txt; the G3
#   campaign; challtestsrv as the preflight's resolver with the names of 1001 and 1005
#   pointing at their servers; `certdesk serve` on a free port (PORTAL_URL, PORTAL_PID).
#   EXTRA_INI is appended to the config (more [web] settings).
# portal_serve INI [EXTRA]: another `certdesk serve` on the same store with a copy of
#   the config (INI, in $WORK/s) plus EXTRA [web] lines; sets SERVE_URL and SERVE_PID
#   (in TAP_PIDS). Call it in the test's own shell, never inside $(...): a PID
#   recorded in a subshell is lost to the trap, and the server would outlive the test.
# sql QUERY: one value from the store (python's sqlite3, no CLI needed).

portal_setup() {
	INV=$WORK/inv
	tests/fixtures/make-inventory "$INV"
	python3 - "$INV" <<'PY'
import csv, sys
inv = sys.argv[1]
def rewrite(name, fn):
    with open(f"{inv}/{name}", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = [rows[0]] + [fn(r) for r in rows[1:]]
    with open(f"{inv}/{name}", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
def members(r):
    if r[0] == "m0002":
        r[4] = "Hanako-Pass-2026"
    if r[0] == "m0003":
        r[2] = 'John <script>alert("x")</script><b>Smith</b>'
    return r
def certs(r):
    if r[0] in ("1008", "1011", "1012"):
        r[1] = "m0001"
    return r
rewrite("members.csv", members)
rewrite("certificates.csv", certs)
PY
	printf 'm0002\tHanako-Pass-2026\n' >>"$INV/passwords.txt"
	new_store "$WORK/s"
	DB=$WORK/s/certdesk.db
	import_inventory "$INV" || return 1
	$CD campaign create --name g3 --issuer "$(cat "$INV/g3.dn")" \
		--deadline "$(cat "$INV/deadline.txt")" >/dev/null || return 1
	$CD reissue --certificate 1002 >/dev/null || return 1

	challtestsrv_start || return 1
	for n in yamada-shoten.example.jp www.yamada-shoten.example.jp; do cts_add_a "$n" 127.0.0.11; done
	for n in hanako.example.jp www.hanako.example.jp; do cts_add_a "$n" 127.0.0.12; done

	PORTAL_PORT=$(free_port)
	cat >>"$WORK/s/certdesk.ini" <<EOF
[provider]
name = テストホスティング
support_email = support@example.jp
[dcv]
resolver = $CTS_DNS
# generous: a DNS answer slowed by a loaded machine is no preflight failure
timeout_ms = 4000
[acme]
active_ca = test
[ca test]
caa_identity = ca.certdesk.test
# the portal alone: these tests seed orders in every stage and read them back,
# so no worker may move them (the pipeline has its own tests)
[worker]
in_serve = no
[web]
listen = 127.0.0.1:$PORTAL_PORT
threads = 4
refresh_seconds = 2
${1:-}
EOF
	$CD serve >"$WORK/serve.log" 2>&1 &
	PORTAL_PID=$!
	TAP_PIDS="$TAP_PIDS $PORTAL_PID"
	PORTAL_URL=http://127.0.0.1:$PORTAL_PORT
	wait_port 127.0.0.1 "$PORTAL_PORT" 30 || { cat "$WORK/serve.log" >&2; return 1; }
}

portal_serve() {
	_port=$(free_port)
	SERVE_URL=""
	sed "s/^listen = .*/listen = 127.0.0.1:$_port/" "$WORK/s/certdesk.ini" >"$1"
	printf '%s\n' "${2:-}" >>"$1"
	$CERTDESK --config "$1" serve >>"$WORK/serve2.log" 2>&1 &
	SERVE_PID=$!
	TAP_PIDS="$TAP_PIDS $SERVE_PID"
	wait_port 127.0.0.1 "$_port" 30 || return 1
	SERVE_URL="http://127.0.0.1:$_port"
}

sql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
r = c.execute(sys.argv[2]).fetchone()
print("" if r is None or r[0] is None else r[0])' "$DB" "$1"
}
