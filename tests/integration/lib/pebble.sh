# pebble.sh - Pebble (the ACME test CA) and pebble-challtestsrv (its DNS) for the
# integration tests, per TESTING.md: everything on 127.0.0.1 with free ports,
# waited for until it answers, every PID in TAP_PIDS. Source it after tap.sh.
#
# DNS (one challtestsrv per test):
#   challtestsrv_start        sets CTS_DNS (127.0.0.1:PORT, the resolver for Pebble's
#                             -dnsserver and certdesk's preflight) and CTS_MGMT
#                             (http://127.0.0.1:PORT); no default A/AAAA answers and no
#                             http01/https01/tlsalpn01 listeners.
#   cts_add_a NAME ADDR, cts_clear_a NAME, cts_add_aaaa NAME ADDR,
#   cts_add_caa NAME TAG VALUE, cts_clear_caa NAME, cts_set_cname NAME TARGET,
#   cts_servfail NAME, cts_clear_servfail NAME
# Pebble (several instances may run at once; INST is a short name like g4):
#   pebble_start INST         env read at start: PEBBLE_EAB="kid=b64urlkey",
#                             PEBBLE_VALIDITY_SECONDS, PEBBLE_HTTP_PORT (the VA's http-01
#                             port; default a free port), PEBBLE_WFE_NONCEREJECT (15),
#                             PEBBLE_AUTHZREUSE (0), PEBBLE_VA_SLEEPTIME (2),
#                             PEBBLE_VA_NOSLEEP (unset), PEBBLE_ALTERNATE_ROOTS and
#                             PEBBLE_CHAIN_LENGTH (Pebble's defaults); needs
#                             challtestsrv_start first.
#                             Sets PEBBLE_<INST>_DIR (directory URL), _MGMT (management
#                             URL), _CA (PEM to trust for its TLS), _PID, _HTTP_PORT.
#   pebble_stop INST, pebble_pause INST (SIGSTOP), pebble_resume INST (SIGCONT),
#   pebble_restart INST       same ports and TLS certificate, state lost
#   pebble_roots INST FILE [N], pebble_intermediates INST FILE [N]   (N: alternate chain N;
#                             with PEBBLE_CHAIN_LENGTH > 1 the intermediate is the one
#                             below the chain's extra intermediates)
#   pebble_serial_status INST SERIALHEX   prints Valid / Revoked / ... (integers compared)
#   pebble_ca_section INST NAME           prints a [ca NAME] block for certdesk.ini
#   pebble_cert_serial FILE               the serial (hex) of a PEM certificate

# curl to the management ports (plain HTTP on loopback)
_cts_post() { curl -sf -m 10 -X POST -d "$2" "$CTS_MGMT/$1" >/dev/null; }

challtestsrv_start() {
	_p_dns=$(free_port); _p_mgmt=$(free_port)
	pebble-challtestsrv -defaultIPv4 "" -defaultIPv6 "" -http01 "" -https01 "" -tlsalpn01 "" \
		-dns01 "127.0.0.1:$_p_dns" -management "127.0.0.1:$_p_mgmt" \
		>"$WORK/challtestsrv.log" 2>&1 &
	CTS_PID=$!
	TAP_PIDS="$TAP_PIDS $CTS_PID"
	CTS_DNS="127.0.0.1:$_p_dns"
	CTS_MGMT="http://127.0.0.1:$_p_mgmt"
	wait_port 127.0.0.1 "$_p_mgmt" 30 || { echo "# challtestsrv did not start" >&2; return 1; }
}
cts_add_a() { _cts_post add-a "{\"host\":\"$1\",\"addresses\":[\"$2\"]}"; }
cts_clear_a() { _cts_post clear-a "{\"host\":\"$1\"}"; }
cts_add_aaaa() { _cts_post add-aaaa "{\"host\":\"$1\",\"addresses\":[\"$2\"]}"; }
cts_add_caa() {
	_cts_post add-caa "{\"host\":\"$1\",\"policies\":[{\"tag\":\"$2\",\"value\":\"$3\"}]}"
}
cts_clear_caa() { _cts_post clear-caa "{\"host\":\"$1\"}"; }
cts_set_cname() { _cts_post set-cname "{\"host\":\"$1\",\"target\":\"$2\"}"; }
cts_servfail() { _cts_post set-servfail "{\"host\":\"$1\"}"; }
cts_clear_servfail() { _cts_post clear-servfail "{\"host\":\"$1\"}"; }

# _pebble_var INST SUFFIX: the value of PEBBLE_<INST>_<SUFFIX>
_pebble_var() { eval "printf '%s' \"\${PEBBLE_$1_$2:-}\""; }

_pebble_launch() {
	inst=$1; d=$WORK/pebble-$inst
	(
		cd "$d" || exit 1
		export PEBBLE_WFE_NONCEREJECT="${PEBBLE_WFE_NONCEREJECT:-15}"
		export PEBBLE_AUTHZREUSE="${PEBBLE_AUTHZREUSE:-0}"
		export PEBBLE_VA_SLEEPTIME="${PEBBLE_VA_SLEEPTIME:-2}"
		[ -n "${PEBBLE_VA_NOSLEEP:-}" ] && export PEBBLE_VA_NOSLEEP
		[ -n "${PEBBLE_ALTERNATE_ROOTS:-}" ] && export PEBBLE_ALTERNATE_ROOTS
		[ -n "${PEBBLE_CHAIN_LENGTH:-}" ] && export PEBBLE_CHAIN_LENGTH
		exec pebble -config "$d/pebble.json" -dnsserver "$CTS_DNS"
	) >>"$d/pebble.log" 2>&1 &
	pid=$!
	TAP_PIDS="$TAP_PIDS $pid"
	eval "PEBBLE_${inst}_PID=$pid"
	wait_port 127.0.0.1 "$(cat "$d/port")" 30 && wait_port 127.0.0.1 "$(cat "$d/mport")" 30 ||
		{ echo "# pebble $inst did not start" >&2; return 1; }
}

pebble_start() {
	inst=$1; d=$WORK/pebble-$inst
	mkdir -p "$d"
	port=$(free_port); mport=$(free_port)
	hport=${PEBBLE_HTTP_PORT:-$(free_port)}
	echo "$port" >"$d/port"; echo "$mport" >"$d/mport"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=pebble $inst test TLS" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$d/tls.key" -out "$d/tls.pem" >/dev/null 2>&1 || return 1
	eab=false; keys="{}"
	if [ -n "${PEBBLE_EAB:-}" ]; then
		eab=true; keys="{\"${PEBBLE_EAB%%=*}\":\"${PEBBLE_EAB#*=}\"}"
	fi
	validity=""
	[ -n "${PEBBLE_VALIDITY_SECONDS:-}" ] && validity="\"certificateValidityPeriod\": $PEBBLE_VALIDITY_SECONDS,"
	cat >"$d/pebble.json" <<JSON
{"pebble": {
  "listenAddress": "127.0.0.1:$port",
  "managementListenAddress": "127.0.0.1:$mport",
  "certificate": "$d/tls.pem", "privateKey": "$d/tls.key",
  "httpPort": $hport, "tlsPort": $(free_port), "ocspResponderURL": "",
  $validity
  "externalAccountBindingRequired": $eab, "externalAccountMACKeys": $keys
}}
JSON
	eval "PEBBLE_${inst}_DIR=https://127.0.0.1:$port/dir"
	eval "PEBBLE_${inst}_MGMT=https://127.0.0.1:$mport"
	eval "PEBBLE_${inst}_CA=$d/tls.pem"
	eval "PEBBLE_${inst}_HTTP_PORT=$hport"
	_pebble_launch "$inst"
}

pebble_stop() {
	pid=$(_pebble_var "$1" PID)
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	eval "PEBBLE_$1_PID="
}
pebble_pause() { kill -STOP "$(_pebble_var "$1" PID)"; }
pebble_resume() { kill -CONT "$(_pebble_var "$1" PID)"; }
pebble_restart() { pebble_stop "$1" && _pebble_launch "$1"; }

# the management API is HTTPS with the same test certificate
_pebble_mgmt() { curl -sf -m 10 --cacert "$(_pebble_var "$1" CA)" "$(_pebble_var "$1" MGMT)/$2"; }
pebble_roots() { _pebble_mgmt "$1" "roots/${3:-0}" >"$2"; }
pebble_intermediates() { _pebble_mgmt "$1" "intermediates/${3:-0}" >"$2"; }
pebble_serial_status() {
	hex=$(python3 -c 'import sys; print(format(int(sys.argv[1], 16), "x"))' "$2")
	_pebble_mgmt "$1" "cert-status-by-serial/$hex" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["Status"])'
}
pebble_cert_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
pebble_ca_section() {
	printf '[ca %s]\ndirectory = %s\nca_file = %s\n' "$2" "$(_pebble_var "$1" DIR)" \
		"$(_pebble_var "$1" CA)"
}
