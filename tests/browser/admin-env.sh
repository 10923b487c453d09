# admin-env.sh - the operator pages' test world, shared by
# tests/integration/test_admin_security.sh and test_admin_browser.sh. Source it
# after tap.sh, lib/pebble.sh and tests/browser/portal-env.sh.
#
# admin_setup [EXTRA_INI]: portal_setup (the portal alone, [worker] in_serve = no),
#   then the operators admin1 (admin) and viewer1 (viewer), passwords in
#   $WORK/admin1.pw and $WORK/viewer1.pw, and the G3 campaign's orders seeded in
#   every state the operator pages show, as the worker records them (state +
#   event) over the last twelve days (the campaign is dated back to then):
#     1001 done 8 days ago, reissued (new issuance current), revocation_pending
#     1010 done 5 days ago, reissued
#     1002 validating (in progress since 10 days ago)
#     1014 ordered, waiting to retry after ca_error (retries 2): Retry now, Cancel
#     1005 failed 3 days ago, dns_not_pointing, a retry can help (detail with markup)
#     1009 failed 2 days ago, ca_rejected, a retry cannot help
#   Sets ORDER_1001 ORDER_1002 ORDER_1005 ORDER_1009 ORDER_1010 ORDER_1014.
# admin_login JAR NAME PASSWORD_FILE: logs an operator in with curl (cookie jar JAR).
# admin_csrf JAR PATH: the CSRF token of the operator session in JAR (from PATH).

admin_setup() {
	portal_setup "${1:-}" || return 1
	printf 'Admin-Pass-2026-x\n' >"$WORK/admin1.pw"
	printf 'Viewer-Pass-2026-y\n' >"$WORK/viewer1.pw"
	$CD operator add admin1 --role admin --display-name '運用 太郎' \
		--password-file "$WORK/admin1.pw" >/dev/null || return 1
	$CD operator add viewer1 --role viewer \
		--display-name 'Viewer <script>alert(1)</script><b>One</b>' \
		--password-file "$WORK/viewer1.pw" >/dev/null || return 1
	for c in 1001 1005 1009 1010 1014; do
		$CD reissue --certificate "$c" >/dev/null || return 1
	done
	python3 - "$DB" <<'PY' || return 1
import sqlite3, sys, time
db = sys.argv[1]
c = sqlite3.connect(db, timeout=10)
now = int(time.time())
D = 86400
c.execute("UPDATE campaigns SET created_at = ?", (now - 12 * D,))
order = {cid: oid for oid, cid in c.execute("SELECT order_id, certificate_id FROM orders")}
path = ["queued", "preflight", "key_ready", "ordered", "validating", "finalizing", "issued",
        "installed", "live", "notified", "old_revoked", "done"]

def walk(cid, created, to, ended, failure=None, retryable=None, detail=None, retries=0,
         next_run=0, revocation_pending=0):
    o = order[cid]
    c.execute("UPDATE orders SET created_at = ?, updated_at = ? WHERE order_id = ?",
              (created, ended, o))
    c.execute("UPDATE events SET at = ? WHERE order_id = ?", (created, o))
    steps = path[:path.index(to) + 1] if to in path else path[:3] + [to]
    for i, (a, b) in enumerate(zip(steps, steps[1:])):
        at = created + (ended - created) * (i + 1) // (len(steps) - 1)
        c.execute("INSERT INTO events (at, actor, kind, order_id, certificate_id, from_state, "
                  "to_state, detail) VALUES (?, 'worker:test', 'order.transition', ?, ?, ?, ?, ?)",
                  (at, o, cid, a, b, detail if b == to else None))
    c.execute("UPDATE orders SET state = ?, failure = ?, failure_retryable = ?, "
              "failure_detail = ?, retries = ?, next_run_at = ?, revocation_pending = ?, "
              "attempt = 1 WHERE order_id = ?",
              (to, failure, retryable, detail, retries, next_run, revocation_pending, o))
    return o

def reissued(cid, o, at):
    # the new certificate the worker would record: a new issuance made current
    row = c.execute("SELECT issuer_dn, issuer_der, aki, serial, not_after, sans, key_type, "
                    "chain_pem FROM issuances WHERE issuance_id = (SELECT current_issuance_id "
                    "FROM certificates WHERE certificate_id = ?)", (cid,)).fetchone()
    cur = c.execute("INSERT INTO issuances (certificate_id, source, ca, issuer_dn, issuer_der, "
                    "aki, serial, not_before, not_after, sha256, sans, key_type, chain_pem, "
                    "order_id, created_at) VALUES (?, 'acme', 'test', ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)", (cid, "CN=JPRS Domain Validation Authority - G4", "00g4", row[2],
                                 "7e57" + cid, at, row[4], "f" * 60 + cid, row[5], row[6],
                                 row[7], o, at))
    c.execute("UPDATE certificates SET current_issuance_id = ? WHERE certificate_id = ?",
              (cur.lastrowid, cid))
    c.execute("UPDATE orders SET new_issuance_id = ? WHERE order_id = ?", (cur.lastrowid, o))

o = walk("1001", now - 9 * D, "done", now - 8 * D, detail="the CA no longer knows the old "
         "certificate (revocation_pending)", revocation_pending=1)
reissued("1001", o, now - 8 * D)
o = walk("1010", now - 6 * D, "done", now - 5 * D)
reissued("1010", o, now - 5 * D)
walk("1002", now - 10 * D, "validating", now - 10 * D + 3600)
walk("1014", now - 4 * D, "ordered", now - 3600, failure="ca_error", retryable=1,
     detail="the CA answered 503", retries=2, next_run=now + 3 * 3600)
walk("1005", now - 4 * D, "failed", now - 3 * D, failure="dns_not_pointing", retryable=1,
     detail='A record points at 192.0.2.1 <script>alert("x")</script>')
walk("1009", now - 3 * D, "failed", now - 2 * D, failure="ca_rejected", retryable=0,
     detail="the CA refused the request")
c.commit()
PY
	eval "$(sql_orders)"
}

# the order ids by certificate, as shell assignments
sql_orders() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
for cid, o in c.execute("SELECT certificate_id, MIN(order_id) FROM orders GROUP BY certificate_id"):
    print(f"ORDER_{cid}={o}")' "$DB"
}

admin_login() {
	curl -s -o /dev/null -c "$1" -b "$1" --data-urlencode "operator=$2" \
		--data-urlencode "password=$(cat "$3")" -w '%{http_code}' "$PORTAL_URL/admin/login"
}

admin_csrf() {
	curl -s -b "$1" "$PORTAL_URL${2:-/admin/failures}" |
		sed -n 's/.*name="csrf" value="\([0-9a-f]\{64\}\)".*/\1/p' | head -n 1
}
