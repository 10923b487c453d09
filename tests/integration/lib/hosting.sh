# hosting.sh - a store that knows test hosting servers run by lib/nginx.sh, for
# the install and verify tests: the test CA, servers in the inventory, and
# certdesk's config pointing at each nginx (short coalescing and time-outs).
#
#   hosting_init                      the test CA in $CA; a fresh store (CD, $WORK/s);
#                                     HTTP_PORT, one port shared by every server
#   hosting_server NAME ADDR SITE...  a server with those sites, each serving an
#                                     "old" certificate ($CERTS/SITE-old.*); started,
#                                     in the inventory and in certdesk's config;
#                                     sets TLS_<NAME> to its TLS port
#   hosting_leaf SITE TAG [KEY]       makes $CERTS/SITE-TAG.{key,crt,fullchain.pem}
#   reloads NAME                      how many reloads its nginx has logged so far
# Source after tap.sh, certs.sh and nginx.sh.

hosting_init() {
	CA=$WORK/ca
	CERTS=$WORK/certs
	mkdir -p "$CERTS"
	testca_init "$CA" || return 1
	new_store "$WORK/s"
	HTTP_PORT=$(free_port)
	cat >>"$WORK/s/certdesk.ini" <<INI
[install]
coalesce_ms = 300
reload_timeout_ms = 5000
command_timeout_ms = 10000
backup_keep = 2
[verify]
roots = $CA/root.pem
attempts = 3
retry_ms = 200
timeout_ms = 2000
INI
	printf 'server,ipv4,ipv6,state,driver,http_port,https_port\n' >"$WORK/servers.csv"
}

hosting_leaf() {
	testca_leaf "$CA" "$1" "$CERTS/$1-$2" "${3:-ec}"
}

hosting_server() {
	_hn=$1 _ha=$2
	shift 2
	_ht=$(free_port)
	eval "TLS_$_hn=$_ht"
	nginx_server_init "$_hn" "$_ha" "$HTTP_PORT" "$_ht" "$WORK/root-$_hn" || return 1
	for _hs in "$@"; do
		hosting_leaf "$_hs" old || return 1
		nginx_site_add "$_hn" "$_hs" "$CERTS/$_hs-old.fullchain.pem" "$CERTS/$_hs-old.key" || return 1
	done
	nginx_server_start "$_hn" || return 1
	nginx_certdesk_ini "$_hn" >>"$WORK/s/certdesk.ini"
	printf '%s,%s,,ok,nginx,%s,%s\n' "$_hn" "$_ha" "$HTTP_PORT" "$_ht" >>"$WORK/servers.csv"
	$CD import servers "$WORK/servers.csv" >/dev/null
}

reloads() { grep -c 'SIGHUP' "$(nginx_error_log "$1")"; }
