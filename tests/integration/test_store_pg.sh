#!/bin/sh
# test_store_pg.sh - certdesk on PostgreSQL (a real server started here):
# the store's unit programs against it; two nodes migrating one new database
# at once; the CLI on it (init, the sample inventory's statuses, campaign,
# reissue) with the password from PGPASSWORD never shown; then two
# `certdesk worker` nodes sharing one database take orders to done at Pebble
# through nginx and a real SMTP server, surviving their connections being
# cut, with no order processed twice.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/pebble.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/smtp.sh"
. "$(dirname "$0")/lib/world.sh"

: "${CERTDESK_BUILD:=build}"
bail() { not_ok "$1"; done_testing; exit 1; }

pg_start || bail "PostgreSQL starts"
ok "PostgreSQL starts (port $PG_PORT)"

# --- the store's unit programs, against PostgreSQL instead of SQLite
pg_createdb unit || bail "create the unit tests' database"
for t in test_store test_work test_store_metrics test_notify_outbox test_store_nodes; do
	exe=$CERTDESK_BUILD/tests/unit/$t
	if [ ! -x "$exe" ]; then
		not_ok "$t on PostgreSQL (not built: $exe)"
		continue
	fi
	if CERTDESK_TEST_PG_URL=$(pg_url unit) CMOCKA_MESSAGE_OUTPUT=TAP timeout 240 "$exe" \
		>"$WORK/$t.out" 2>&1; then
		ok "$t on PostgreSQL ($(grep -c '^ok' "$WORK/$t.out") tests)"
	else
		not_ok "$t on PostgreSQL"
		grep -v '^ok' "$WORK/$t.out" | tail -n 30 | sed 's/^/# /'
	fi
done

# node_ini DIR DB NODE: a node's config (relative paths are relative to DIR),
# ending in its [worker] section
node_ini() {
	mkdir -p "$1"
	printf '[store]\nurl = %s\n[secrets]\nmaster_key_file = master.key\n' "$(pg_url "$2")" \
		>"$1/certdesk.ini"
	printf '[worker]\nnode = %s\n' "$3" >>"$1/certdesk.ini"
}

# --- two nodes starting at once on a new database: one applies the
# migrations, the other waits for it and finds nothing left to do
pg_createdb race || bail "create a database"
node_ini "$WORK/ra" race ra
node_ini "$WORK/rb" race rb
$CERTDESK --config "$WORK/ra/certdesk.ini" migrate >"$WORK/ra.out" 2>&1 &
pa=$!
$CERTDESK --config "$WORK/rb/certdesk.ini" migrate >"$WORK/rb.out" 2>&1 &
pb=$!
ra=0 rb=0
wait $pa || ra=$?
wait $pb || rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then ok "two nodes migrate one database at once"
else not_ok "two nodes migrate one database at once ($ra, $rb)"; cat "$WORK/ra.out" "$WORK/rb.out" | sed 's/^/# /'; fi
latest=$(pg_sql race "SELECT MAX(version) FROM schema_migrations")
check "each migration is recorded once" test "$(pg_sql race "SELECT COUNT(*) FROM schema_migrations")" = \
	"$(pg_sql race "SELECT COUNT(DISTINCT version) FROM schema_migrations")"
check "both report the latest schema version" sh -c \
	"grep -q 'schema version $latest ' '$WORK/ra.out' && grep -q 'schema version $latest ' '$WORK/rb.out'"
applied=$(cat "$WORK/ra.out" "$WORK/rb.out" | sed -n 's/.*(\([0-9]*\) migration(s) applied).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
check "each migration was applied by one of them ($applied in all)" \
	test "$applied" = "$(pg_sql race "SELECT COUNT(*) FROM schema_migrations")"

# --- the CLI on PostgreSQL
pg_createdb cli || bail "create the CLI's database"
node_ini "$WORK/s" cli cli
CD="$CERTDESK --config $WORK/s/certdesk.ini"
$CD init >"$WORK/init.out" 2>&1
check "init on PostgreSQL" grep -q "store ready: postgresql://" "$WORK/init.out"
$CD doctor >"$WORK/doctor.out" 2>&1
check "doctor: the store is PostgreSQL at the latest schema" grep -q "ok: postgresql, schema version $latest" "$WORK/doctor.out"

# a password in the URL is never shown; one that is wrong is refused clearly
sed "s#^url = postgresql://certdesk@#url = postgresql://certdesk:not-$PG_PASSWORD@#" \
	"$WORK/s/certdesk.ini" >"$WORK/s/wrong.ini"
$CERTDESK --config "$WORK/s/wrong.ini" doctor >"$WORK/wrong.out" 2>&1
check "a wrong password: a clear error" grep -q "password authentication failed" "$WORK/wrong.out"
check "doctor shows the URL with the password masked" grep -q "certdesk:\*\*\*@127.0.0.1" "$WORK/wrong.out"
check "the password appears nowhere" sh -c "! grep -q '$PG_PASSWORD' '$WORK/wrong.out' '$WORK/init.out' '$WORK/doctor.out'"
PGPASSWORD='' $CD status --member m0001 >"$WORK/nopw.out" 2>&1
check "no password at all: a clear error" grep -q "cannot connect to PostgreSQL" "$WORK/nopw.out"

INV=$WORK/inv
tests/fixtures/make-inventory "$INV" || bail "make the sample inventory"
check "import the sample inventory" import_inventory "$INV"
check "campaign over the G3 issuer" $CD campaign create --name g3 --issuer "$(cat "$INV/g3.dn")" \
	--deadline "$(cat "$INV/deadline.txt")"
status_table "$INV" >"$WORK/got.tsv"
grep -v '^#' "$INV/expected-status.tsv" | sort >"$WORK/want.tsv"
check "every certificate has the expected status and reason" diff "$WORK/want.tsv" "$WORK/got.tsv"
for k in members servers sites settings certificates; do
	$CD import "$k" "$INV/$k.csv"
done >"$WORK/reimport.txt" 2>&1
check "re-import reports no change" sh -c "! grep -v ' 0 new or changed' '$WORK/reimport.txt' | grep -q ."
first=$(awk -F'\t' '$2=="available"{print $1; exit}' "$WORK/got.tsv")
member=$(awk -F, -v c="$first" '$1==c{print $2}' "$INV/certificates.csv")
check "operator reissue queues an order" $CD reissue --certificate "$first"
check "the certificate is now in progress" sh -c "$CD status --member $member --json | grep -q in_progress"
fails "a second open order is refused" "already has an open reissue order" $CD reissue --certificate "$first"
$CD events --cert "$first" >"$WORK/events.out" 2>&1
check "the order's event records its source (local:USER)" grep -q "local:$(id -un)" "$WORK/events.out"

# --- the portal on the same database: a member logs in, sees their
# certificates; each login is an event with the client's address
WEB_PORT=$(free_port)
# the node's config with its [worker] section replaced (no worker in serve)
{
	sed '/^\[worker\]$/,$d' "$WORK/s/certdesk.ini"
	printf '[worker]\nin_serve = no\n[web]\nlisten = 127.0.0.1:%s\nthreads = 2\n' "$WEB_PORT"
} >"$WORK/s/web.ini"
$CERTDESK --config "$WORK/s/web.ini" serve >"$WORK/serve.log" 2>&1 &
TAP_PIDS="$TAP_PIDS $!"
U=http://127.0.0.1:$WEB_PORT
if wait_port 127.0.0.1 "$WEB_PORT" 30; then
	mem=$(head -n 1 "$INV/passwords.txt" | cut -f1)
	pw=$(head -n 1 "$INV/passwords.txt" | cut -f2)
	st=$(curl -s -o /dev/null -w '%{http_code}' -c "$WORK/jar" -X POST "$U/login" \
		--data-urlencode "member_id=$mem" --data-urlencode "password=wrong-$pw")
	check "the portal refuses a wrong password (the login page again)" test "$st" = 200
	st=$(curl -s -o /dev/null -w '%{http_code}' -c "$WORK/jar" -X POST "$U/login" \
		--data-urlencode "member_id=$mem" --data-urlencode "password=$pw")
	check "$mem logs in to the portal (303)" test "$st" = 303
	curl -s -b "$WORK/jar" "$U/certificates" >"$WORK/list.html"
	cn=$(awk -F, -v m="$mem" '$2==m{print $4; exit}' "$INV/certificates.csv")
	check "the portal lists $mem's certificate for $cn" grep -q "$cn" "$WORK/list.html"
	$CD events --member "$mem" >"$WORK/ev-m.txt" 2>&1
	check "the failed and the good login are events from 127.0.0.1" sh -c \
		"grep -q 'from 127.0.0.1  login.failed' '$WORK/ev-m.txt' && grep -q 'from 127.0.0.1  login.ok' '$WORK/ev-m.txt'"
else
	not_ok "certdesk serve on PostgreSQL listens"
	tail -n 20 "$WORK/serve.log" | sed 's/^/# /'
fi

# --- two worker nodes on one database, through the real pipeline
SITES="s01 s02 s03 s04 s05 s06 s07 s08"
D=example.jp
world_peers || bail "the pipeline world starts"

pg_createdb pipe || bail "create the pipeline's database"
node_ini "$WORK/a" pipe a
{
	printf 'threads = 1\nclaim_interval_ms = 100\nbackoff_base_ms = 300\n'
	printf 'backoff_cap_ms = 3000\npoll_ms = 500\nlease_seconds = 60\n'
	printf '[acme]\nactive_ca = g4\n'
	pebble_ca_section g4 g4
	printf 'key_type = p256\nroots = %s\ncaa_identity = pebble.letsencrypt.org\n' \
		"$WORK/g4-roots.pem"
	pebble_ca_section g3 g3
	printf '[dcv]\nresolver = %s\n' "$CTS_DNS"
	smtp_ini
	# a mail whose sent mark was lost with a cut connection is redelivered
	# after its lease; until-idle waits for it, so keep the lease short
	printf 'lease_seconds = 8\nretry_base_ms = 500\nretry_cap_ms = 2000\n'
	printf '[install]\ncoalesce_ms = 300\nreload_timeout_ms = 5000\n'
	printf '[verify]\nattempts = 5\nretry_ms = 300\ntimeout_ms = 3000\n'
} >>"$WORK/a/certdesk.ini"
CD="$CERTDESK --config $WORK/a/certdesk.ini"
$CD init >"$WORK/a/init.out" 2>&1 || { not_ok "init node a"; sed 's/^/# /' "$WORK/a/init.out"; }

WORLD_INI=$WORK/a/certdesk.ini # node a's config (world_ini's store is SQLite)
for s in $SITES; do echo "$s.$D"; done >"$WORK/names.txt"
world_local_dns "$WORK/names.txt" || bail "DNS for the old certificates"
check "old certificates issued at g3" world_old_certs "$WORK/names.txt"

# shellcheck disable=SC2086
world_server_up web01 127.0.0.2 $SITES || bail "web01 serves"
TLS=$TLS_web01

# node b: the same config but its node name, and the same master key
mkdir -p "$WORK/b"
sed 's/^node = a$/node = b/' "$WORK/a/certdesk.ini" >"$WORK/b/certdesk.ini"
cp "$WORK/a/master.key" "$WORK/b/master.key"
CDB="$CERTDESK --config $WORK/b/certdesk.ini"

{
	echo "member_id,email,display_name,locale"
	echo "m1,m1@example.test,Jane Doe,en"
} >"$WORK/members.csv"
printf 'server,ipv4,ipv6,state,driver,http_port,https_port\nweb01,127.0.0.2,,ok,nginx,%s,%s\n' \
	"$HTTP_PORT" "$TLS" >"$WORK/servers.csv"
echo "fqdn,member_id,server,state" >"$WORK/sites.csv"
echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file" \
	>"$WORK/certificates.csv"
for s in $SITES; do
	echo "$s.$D,m1,web01,ok" >>"$WORK/sites.csv"
	echo "c-$s,m1,jprs_dv_rs_1y,$s.$D,2026-01-01,2027-12-31,old/$s.$D/fullchain.pem" \
		>>"$WORK/certificates.csv"
done
imp=0
for k in members servers sites certificates; do
	$CD import "$k" "$WORK/$k.csv" >>"$WORK/import.log" 2>&1 || imp=1
done
$CD import installed --server web01 "$WORK/root-web01" >>"$WORK/import.log" 2>&1 || imp=1
if [ $imp -eq 0 ]; then ok "pipeline inventory imported"; else not_ok "pipeline inventory imported"; sed 's/^/# /' "$WORK/import.log"; fi
check "campaign for g3's issuer" $CD campaign create --name g3 --issuer "$G3_DN" --deadline 2027-01-31
for s in $SITES; do
	$CDB reissue --certificate "c-$s" >/dev/null 2>"$WORK/reissue.err" ||
		{ not_ok "reissue c-$s"; sed 's/^/# /' "$WORK/reissue.err"; }
done
n_orders=$(echo $SITES | wc -w)

timeout 300 $CD worker --until-idle >"$WORK/worker-a.log" 2>&1 &
wa=$!
timeout 300 $CDB worker --until-idle >"$WORK/worker-b.log" 2>&1 &
wb=$!
# once an order is done, every connection of the workers is cut: they go on
end=$(($(date +%s) + 240))
while [ "$(pg_sql pipe "SELECT COUNT(*) FROM orders WHERE state = 'done'")" = 0 ] &&
	kill -0 $wa 2>/dev/null && [ "$(date +%s)" -lt $end ]; do
	sleep 0.2
done
cut=$(pg_sql pipe "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'pipe' AND application_name = 'certdesk' AND pid <> pg_backend_pid()")
echo "# $cut worker connection(s) cut"
rca=0 rcb=0
wait $wa || rca=$?
wait $wb || rcb=$?
if [ $rca -eq 0 ] && [ $rcb -eq 0 ]; then ok "both workers ran until idle"
else not_ok "both workers ran until idle ($rca, $rcb)"; tail -n 20 "$WORK/worker-a.log" "$WORK/worker-b.log" | sed 's/^/# /'; fi

$CD orders list --limit 100 >"$WORK/orders.txt"
ndone=$(grep -c ' done ' "$WORK/orders.txt")
if [ "$ndone" -eq "$n_orders" ]; then ok "$n_orders orders done"
else not_ok "$n_orders orders done ($ndone)"; sed 's/^/# /' "$WORK/orders.txt"; fi

# no order processed twice: each transition recorded once, in order, and one
# new certificate per order
path="queued preflight key_ready ordered validating finalizing issued installed live notified old_revoked done"
bad=0
for id in $(awk 'NR > 1 { print $1 }' "$WORK/orders.txt"); do
	got=$($CD orders show "$id" | awk '/ order.transition / { for (i = 1; i <= NF; i++) if ($i == "->") print $(i + 1) }' |
		tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$path" ] || { bad=$((bad + 1)); echo "# order $id: $got"; }
done
[ $bad -eq 0 ] && ok "every order's transitions were recorded once, in order" || not_ok "orders with odd events: $bad"
check "one new certificate per order" test "$(pg_sql pipe "SELECT COUNT(*) FROM issuances WHERE source = 'acme'")" = "$n_orders"
check "one new certificate per order, each its own" test "$(pg_sql pipe "SELECT COUNT(DISTINCT new_issuance_id) FROM orders WHERE state = 'done'")" = "$n_orders"
na=$(pg_sql pipe "SELECT COUNT(DISTINCT order_id) FROM events WHERE source = 'node:a'")
nb=$(pg_sql pipe "SELECT COUNT(DISTINCT order_id) FROM events WHERE source = 'node:b'")
echo "# node a worked on $na order(s), node b on $nb"
check "both nodes took orders" test "$na" -gt 0 -a "$nb" -gt 0
check "worker events are recorded with their node as source" test \
	"$(pg_sql pipe "SELECT COUNT(*) FROM events WHERE actor LIKE 'worker:%' AND source NOT IN ('node:a', 'node:b')")" = 0

bad_serve=0
for s in $SITES; do
	serial=$(served_serial 127.0.0.2 "$TLS" "$s.$D")
	old=$(pebble_cert_serial "$WORK/old/$s.$D/fullchain.pem")
	if [ -z "$serial" ] || [ "$(echo "$serial" | tr a-f A-F | sed 's/^0*//')" = "$(echo "$old" | tr a-f A-F | sed 's/^0*//')" ]; then
		bad_serve=$((bad_serve + 1))
	fi
done
[ $bad_serve -eq 0 ] && ok "every name serves its new certificate" || not_ok "names still serving the old certificate: $bad_serve"
d=$(smtp_distinct_ids)
if [ "$d" -eq "$n_orders" ]; then ok "one mail per order ($d distinct Message-IDs)"
else not_ok "one mail per order ($d distinct Message-IDs)"; fi
check "the password appears in no worker log" sh -c "! grep -q '$PG_PASSWORD' '$WORK/worker-a.log' '$WORK/worker-b.log'"

done_testing
