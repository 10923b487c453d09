# pipeline-env.sh - a second world for the browser journey that goes all the way:
# a portal whose `certdesk serve` runs the workers ([worker] in_serve = yes) on a
# store of its own, next to the seeded world of portal-env.sh (whose portal runs
# alone). Source it after tap.sh, lib/pebble.sh, lib/nginx.sh and lib/smtp.sh, and
# call pipeline_setup after challtestsrv_start (the one DNS of both worlds).
#
# pipeline_setup: Pebble "g3" (the old CA) and "g4" (the active one), an SMTP server,
#   one nginx hosting server (web21 on 127.0.0.21) serving PIPE_CN with a certificate
#   issued at g3, member p0001 (伊藤 花子, locale ja, PIPE_PASSWORD) owning it as
#   certificate 3001, a campaign for g3's issuer, and `certdesk serve` with its
#   workers on a free port. Sets PIPE_URL, PIPE_DB, PIPE_CN, PIPE_ADDR, PIPE_TLS,
#   PIPE_OLD_SERIAL, PIPE_G3_ROOTS, PIPE_G4_ROOTS, PIPE_PASSWORD.
# pipe_sql QUERY: one value from that store.
# pipe_wait_sql QUERY WANT SECONDS: polls QUERY until it prints WANT.

PIPE_CN=itoh-kobo.example.jp
PIPE_ADDR=127.0.0.21
PIPE_PASSWORD=Itoh-Pass-2026

pipeline_setup() {
	_pd=$WORK/p
	_php=$(free_port)
	PEBBLE_HTTP_PORT=$_php PEBBLE_VA_NOSLEEP=1 PEBBLE_VALIDITY_SECONDS=31536000 \
		pebble_start g3 || return 1
	PEBBLE_HTTP_PORT=$_php PEBBLE_VALIDITY_SECONDS=7776000 pebble_start g4 || return 1
	smtp_start || return 1
	PIPE_G3_ROOTS=$WORK/g3-roots.pem
	PIPE_G4_ROOTS=$WORK/g4-roots.pem
	pebble_roots g3 "$PIPE_G3_ROOTS" && pebble_roots g4 "$PIPE_G4_ROOTS" || return 1

	mkdir -p "$_pd"
	printf '[store]\nurl = sqlite:certdesk.db\n[secrets]\nmaster_key_file = master.key\n' \
		>"$_pd/certdesk.ini"
	PCD="$CERTDESK --config $_pd/certdesk.ini"
	$PCD init >/dev/null || return 1
	PIPE_DB=$_pd/certdesk.db

	# the old certificate, issued at g3 while the name points at certdesk itself
	cts_add_a "$PIPE_CN" 127.0.0.1
	printf '[acme]\nactive_ca = g4\npoll_initial_ms = 300\npoll_max_ms = 1000\n' \
		>>"$_pd/certdesk.ini"
	pebble_ca_section g4 g4 >>"$_pd/certdesk.ini"
	printf 'key_type = p256\nroots = %s\ncaa_identity = pebble.letsencrypt.org\n' \
		"$PIPE_G4_ROOTS" >>"$_pd/certdesk.ini"
	pebble_ca_section g3 g3 >>"$_pd/certdesk.ini"
	$PCD ca issue --ca g3 --name "$PIPE_CN" --out "$WORK/old" \
		--http-listen "127.0.0.1:$_php" >"$WORK/old-issue.log" 2>&1 || return 1
	_pold=$WORK/old/$PIPE_CN
	PIPE_OLD_SERIAL=$(pebble_cert_serial "$_pold/fullchain.pem")
	_pdn=$(openssl x509 -in "$_pold/fullchain.pem" -noout -issuer -nameopt RFC2253 |
		sed 's/^issuer=//')
	printf 'issuer_dn = %s\n' "$_pdn" >>"$_pd/certdesk.ini"

	# the hosting server: its nginx serves the old certificate; DNS points there
	PIPE_TLS=$(free_port)
	nginx_server_init web21 "$PIPE_ADDR" "$_php" "$PIPE_TLS" "$WORK/root-web21" || return 1
	nginx_site_add web21 "$PIPE_CN" "$_pold/fullchain.pem" "$_pold/privkey.pem" || return 1
	nginx_server_start web21 || return 1
	cts_clear_a "$PIPE_CN"
	cts_add_a "$PIPE_CN" "$PIPE_ADDR"
	cts_add_a "www.$PIPE_CN" "$PIPE_ADDR"

	_ppt=$(free_port)
	{
		nginx_certdesk_ini web21
		printf '[provider]\nname = テストホスティング\nsupport_email = support@example.jp\n'
		printf '[dcv]\nresolver = %s\ntimeout_ms = 3000\n' "$CTS_DNS"
		smtp_ini
		printf 'poll_ms = 200\nretry_base_ms = 500\nretry_cap_ms = 2000\n'
		printf '[worker]\nin_serve = yes\nthreads = 2\nclaim_interval_ms = 100\n'
		printf 'backoff_base_ms = 300\nbackoff_cap_ms = 3000\npoll_ms = 300\nlease_seconds = 60\n'
		printf '[install]\ncoalesce_ms = 200\nreload_timeout_ms = 10000\n'
		printf '[verify]\nattempts = 8\nretry_ms = 300\ntimeout_ms = 5000\n'
		printf '[web]\nlisten = 127.0.0.1:%s\nthreads = 4\nrefresh_seconds = 1\n' "$_ppt"
	} >>"$_pd/certdesk.ini"

	{
		echo "member_id,email,display_name,locale,password"
		echo "p0001,p0001@example.test,伊藤 花子,ja,$PIPE_PASSWORD"
	} >"$_pd/members.csv"
	{
		echo "server,ipv4,ipv6,state,driver,http_port,https_port"
		echo "web21,$PIPE_ADDR,,ok,nginx,$_php,$PIPE_TLS"
	} >"$_pd/servers.csv"
	printf 'fqdn,member_id,server,state\n%s,p0001,web21,ok\n' "$PIPE_CN" >"$_pd/sites.csv"
	{
		echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file"
		echo "3001,p0001,jprs_dv_rs_1y,$PIPE_CN,2026-06-01,2027-05-31,old.pem"
	} >"$_pd/certificates.csv"
	cp "$_pold/fullchain.pem" "$_pd/old.pem" # pem_file: beside the CSV
	for _pk in members servers sites certificates; do
		$PCD import "$_pk" "$_pd/$_pk.csv" >>"$WORK/pipe-import.log" 2>&1 || return 1
	done
	$PCD import installed --server web21 "$WORK/root-web21" >>"$WORK/pipe-import.log" 2>&1 ||
		return 1
	$PCD campaign create --name g3 --issuer "$_pdn" --deadline 2027-01-31 >/dev/null || return 1

	$PCD serve >"$WORK/pipe-serve.log" 2>&1 &
	TAP_PIDS="$TAP_PIDS $!"
	PIPE_URL=http://127.0.0.1:$_ppt
	wait_port 127.0.0.1 "$_ppt" 30 || { cat "$WORK/pipe-serve.log" >&2; return 1; }
}

pipe_sql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
r = c.execute(sys.argv[2]).fetchone()
print("" if r is None or r[0] is None else r[0])' "$PIPE_DB" "$1"
}

pipe_wait_sql() {
	python3 - "$PIPE_DB" "$1" "$2" "$3" <<'PY'
import sqlite3, sys, time
db, q, want, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
end = time.monotonic() + limit
while True:
    c = sqlite3.connect(db, timeout=10)
    r = c.execute(q).fetchone()
    c.close()
    got = "" if r is None or r[0] is None else str(r[0])
    if got == want:
        sys.exit(0)
    if time.monotonic() > end:
        print(f"{q}: {got!r}, not {want!r}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.2)
PY
}
