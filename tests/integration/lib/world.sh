# world.sh - the "pipeline world" the reissue tests share: Pebble g3 (the old
# CA, kept up for revocations) and g4 (the active CA) sharing one http-01 port,
# pebble-challtestsrv, an SMTP server, a store configured for them, old
# certificates issued at g3, and nginx hosting servers serving them.
#
#   world_peers [VAR=VALUE...]   challtestsrv, Pebble g3 (PEBBLE_VA_NOSLEEP=1,
#                     one year's validity), Pebble g4 (90 days; each VAR=VALUE,
#                     e.g. PEBBLE_VA_NOSLEEP=1, is set for its start) on one
#                     http-01 port HTTP_PORT, the SMTP server; their roots in
#                     $WORK/g3-roots.pem and $WORK/g4-roots.pem
#   world_ini [SECTION.KEY=VALUE...]
#                     a fresh store in $WORK/s (CD) whose config has [acme],
#                     [ca g4], [ca g3], [dcv], [mail], [worker], [install] and
#                     [verify] for the peers. SECTION is acme, g4, dcv, mail,
#                     worker, install or verify; a KEY given replaces that
#                     section's default, any other is added at the section's end.
#                     Defaults: worker threads 4, claim_interval_ms 100,
#                     backoff_base_ms 300, backoff_cap_ms 3000, poll_ms 500,
#                     lease_seconds 60; install coalesce_ms 300,
#                     reload_timeout_ms 5000; verify attempts 5, retry_ms 300,
#                     timeout_ms 3000; g4 key_type p256
#   world_local_dns NAMES-FILE   points every name of the file at 127.0.0.1
#                     (certdesk's own http-01 listener)
#   world_old_certs NAMES-FILE [JOBS]   certificates for each name issued at g3
#                     (`ca issue --each`, JOBS in parallel, default 4) into
#                     $WORK/old/FQDN/; sets G3_DN (their issuer) and appends
#                     it to [ca g3]. The names must resolve to 127.0.0.1.
#   world_server_up NAME ADDR SITE...   an nginx hosting server on ADDR serving
#                     each SITE.$D with its old certificate; DNS points SITE.$D
#                     and www.SITE.$D there; its [server NAME] section and its
#                     row in $WORK/servers.csv (not imported yet); sets
#                     TLS_NAME. WORLD_SITE_HOOK, when set, is called as
#                     "$WORLD_SITE_HOOK" NAME SITE after each site is added.
# world_old_certs and world_server_up append to $WORLD_INI, by default
# world_ini's $WORK/s/certdesk.ini (a test with a store of its own sets it).
# Source after tap.sh, pebble.sh, nginx.sh and smtp.sh. Each function returns
# non-zero (with a "# ..." line on stderr) when a peer does not come up.

_world_fail() { echo "# $1" >&2; return 1; }

world_peers() {
	challtestsrv_start || _world_fail "challtestsrv does not start" || return 1
	HTTP_PORT=$(free_port)
	PEBBLE_HTTP_PORT=$HTTP_PORT PEBBLE_VA_NOSLEEP=1 PEBBLE_VALIDITY_SECONDS=31536000 \
		pebble_start g3 || _world_fail "pebble g3 does not start" || return 1
	eval "PEBBLE_HTTP_PORT=\$HTTP_PORT PEBBLE_VALIDITY_SECONDS=7776000 $* pebble_start g4" ||
		_world_fail "pebble g4 does not start" || return 1
	smtp_start || _world_fail "the SMTP server does not start" || return 1
	pebble_roots g4 "$WORK/g4-roots.pem" || _world_fail "no g4 roots" || return 1
	pebble_roots g3 "$WORK/g3-roots.pem" || _world_fail "no g3 roots" || return 1
}

# _world_section SECTION "KEY=VALUE..." ARGS...: the section's defaults with
# the arguments' values in their place, then the arguments' other keys
_world_section() {
	_ws=$1 _wdef=$2
	shift 2
	for _wd in $_wdef; do
		_wk=${_wd%%=*} _wv=${_wd#*=}
		for _wa in "$@"; do
			case $_wa in "$_ws.$_wk="*) _wv=${_wa#*=} ;; esac
		done
		printf '%s = %s\n' "$_wk" "$_wv"
	done
	for _wa in "$@"; do
		case $_wa in "$_ws".*=*) ;; *) continue ;; esac
		_wk=${_wa#"$_ws".} _wk=${_wk%%=*}
		case " $_wdef " in *" $_wk="*) continue ;; esac
		printf '%s = %s\n' "$_wk" "${_wa#*=}"
	done
}

world_ini() {
	new_store "$WORK/s"
	{
		printf '[acme]\n'
		_world_section acme "active_ca=g4" "$@"
		pebble_ca_section g4 g4
		_world_section g4 "key_type=p256 roots=$WORK/g4-roots.pem caa_identity=pebble.letsencrypt.org" "$@"
		pebble_ca_section g3 g3
		printf '[dcv]\n'
		_world_section dcv "resolver=$CTS_DNS" "$@"
		smtp_ini
		_world_section mail "" "$@"
		printf '[worker]\n'
		_world_section worker "threads=4 claim_interval_ms=100 backoff_base_ms=300 backoff_cap_ms=3000 poll_ms=500 lease_seconds=60" "$@"
		printf '[install]\n'
		_world_section install "coalesce_ms=300 reload_timeout_ms=5000" "$@"
		printf '[verify]\n'
		_world_section verify "attempts=5 retry_ms=300 timeout_ms=3000" "$@"
	} >>"$WORK/s/certdesk.ini"
}

world_local_dns() {
	while read -r _wn; do
		cts_add_a "$_wn" 127.0.0.1 || return 1
	done <"$1"
}

world_old_certs() {
	$CD ca issue --ca g3 --names-file "$1" --each --jobs "${2:-4}" --out "$WORK/old" \
		--http-listen "127.0.0.1:$HTTP_PORT" || return 1
	G3_DN=$(openssl x509 -in "$WORK/old/$(head -n 1 "$1")/fullchain.pem" -noout -issuer \
		-nameopt RFC2253 | sed 's/^issuer=//')
	[ -n "$G3_DN" ] || return 1
	printf '[ca g3]\nissuer_dn = %s\n' "$G3_DN" >>"${WORLD_INI:-$WORK/s/certdesk.ini}"
}

world_server_up() {
	_wname=$1 _waddr=$2
	shift 2
	_wtls=$(free_port)
	nginx_server_init "$_wname" "$_waddr" "$HTTP_PORT" "$_wtls" "$WORK/root-$_wname" || return 1
	for _wsite in "$@"; do
		cts_clear_a "$_wsite.$D"
		cts_add_a "$_wsite.$D" "$_waddr"
		cts_add_a "www.$_wsite.$D" "$_waddr"
		nginx_site_add "$_wname" "$_wsite.$D" "$WORK/old/$_wsite.$D/fullchain.pem" \
			"$WORK/old/$_wsite.$D/privkey.pem" || return 1
		[ -z "${WORLD_SITE_HOOK:-}" ] || "$WORLD_SITE_HOOK" "$_wname" "$_wsite"
	done
	nginx_server_start "$_wname" || return 1
	nginx_certdesk_ini "$_wname" >>"${WORLD_INI:-$WORK/s/certdesk.ini}"
	[ -f "$WORK/servers.csv" ] ||
		printf 'server,ipv4,ipv6,state,driver,http_port,https_port\n' >"$WORK/servers.csv"
	printf '%s,%s,,ok,nginx,%s,%s\n' "$_wname" "$_waddr" "$HTTP_PORT" "$_wtls" >>"$WORK/servers.csv"
	eval "TLS_$_wname=\$_wtls"
}
