#!/bin/sh
# acme-peers.sh - certdesk's ACME client against the peers people script by hand:
# one Pebble (no validation sleep, no nonce rejects), BENCH_NAMES distinct names
# (default 200), one certificate each, issued by certdesk with 1 and with 32
# concurrent issuances and by lego, certbot and uacme in a shell loop, each
# serving http-01 itself (standalone; uacme through its hook) on Pebble's http-01
# port; every client makes ECDSA P-256 keys. One run; prints
# certificates/minute, client CPU s/cert, Pebble CPU s/cert, ratios to the fastest.
#
# usage: bench/acme-peers.sh   (CERTDESK=path to a release build; default build/certdesk;
#        BENCH_PEERS="certdesk lego certbot uacme" picks the clients, BENCH_NAMES the count)
# Needs: pebble, lego, certbot, uacme (scripts/install-deps --bench), unshare for uacme.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${CERTDESK:=build/certdesk}"
N=${BENCH_NAMES:-200}
PEERS=${BENCH_PEERS:-certdesk lego certbot uacme}
want() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
for p in pebble $PEERS; do
	[ "$p" = certdesk ] && continue
	command -v $p >/dev/null || { echo "acme-peers: $p is not installed (scripts/install-deps --bench)" >&2; exit 1; }
done
challtestsrv_start || exit 1
pebble_start b || exit 1
HP=$PEBBLE_b_HTTP_PORT
CA=$PEBBLE_b_CA
DIR=$PEBBLE_b_DIR

# cpu_of PID: user+system seconds of a process so far
cpu_of() { python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$1"; }
# names PREFIX: N names under PREFIX, with A records to 127.0.0.1
names() {
	: >"$WORK/$1.names"
	i=1
	while [ "$i" -le "$N" ]; do
		echo "h$i.$1.bench.test" >>"$WORK/$1.names"
		i=$((i + 1))
	done
	python3 - "$CTS_MGMT" "$WORK/$1.names" <<'PY'
import json, sys, urllib.request
for n in open(sys.argv[2]).read().split():
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/add-a", json.dumps({"host": n, "addresses": ["127.0.0.1"]}).encode(), method="POST")).read()
PY
}
# run LABEL CMD...: times CMD (wall, its CPU incl. children, Pebble's CPU), counts certs in $WORK/LABEL.count
RESULTS=$WORK/results
: >"$RESULTS"
run() {
	label=$1; shift
	p0=$(cpu_of "$PEBBLE_b_PID")
	t0=$(date +%s.%N)
	# a bound per client: Pebble 2.4 can deadlock under concurrent newOrders
	# (lock-order inversion in its memory store); a stuck run then shows as such
	timeout "${BENCH_TIMEOUT:-1800}" /usr/bin/time -f "%U %S" -o "$WORK/$label.cpu" "$@" >"$WORK/$label.log" 2>&1
	t1=$(date +%s.%N)
	p1=$(cpu_of "$PEBBLE_b_PID")
	certs=$(cat "$WORK/$label.count" 2>/dev/null || echo 0)
	cpu=$(tail -1 "$WORK/$label.cpu" 2>/dev/null | grep -E '^[0-9.]+ [0-9.]+$' || echo "0 0")
	echo "$label $t0 $t1 $cpu $p0 $p1 $certs" >>"$RESULTS"
	echo "# $label: $certs certificates" >&2
}

# --- certdesk ----------------------------------------------------------------
if want certdesk; then
S=$WORK/cd
new_store "$S"
pebble_ca_section b bench >>"$S/certdesk.ini"
printf 'key_type = p256\n' >>"$S/certdesk.ini" # certificate keys, like the other clients'
printf '[acme]\npoll_initial_ms = 100\npoll_max_ms = 1000\n' >>"$S/certdesk.ini"
$CD ca register >/dev/null || exit 1
for j in 1 32; do
	names "cd$j"
	run "certdesk-j$j" sh -c "$CD ca issue --names-file $WORK/cd$j.names --each --jobs $j --out $WORK/cd$j-out --http-listen 127.0.0.1:$HP | grep -c '^issued' >$WORK/certdesk-j$j.count"
done
fi

# --- lego: one run per name, as a cron job would --------------------------------
if want lego; then
names lego
export LEGO_CA_CERTIFICATES=$CA
run lego sh -c "n=0; for d in \$(cat $WORK/lego.names); do lego --accept-tos --email bench@example.test --server $DIR --path $WORK/lego --http --http.port 127.0.0.1:$HP --domains \$d run >/dev/null 2>&1 && n=\$((n+1)); done; echo \$n >$WORK/lego.count"
fi

# --- certbot: certonly --standalone per name ---------------------------------
if want certbot; then
names certbot
export REQUESTS_CA_BUNDLE=$CA
CB="certbot --config-dir $WORK/cb/c --work-dir $WORK/cb/w --logs-dir $WORK/cb/l --server $DIR --non-interactive --agree-tos -m bench@example.test"
run certbot sh -c "n=0; for d in \$(cat $WORK/certbot.names); do $CB certonly --key-type ecdsa --standalone --http-01-address 127.0.0.1 --http-01-port $HP -d \$d >/dev/null 2>&1 && n=\$((n+1)); done; echo \$n >$WORK/certbot.count"
fi

# --- uacme: a hook places the token for a small web server of the script's own --
if want uacme; then
names uacme
mkdir -p "$WORK/uacme-www/.well-known/acme-challenge"
(cd "$WORK/uacme-www" && exec python3 -m http.server --bind 127.0.0.1 "$HP") >/dev/null 2>&1 &
WPID=$!
TAP_PIDS="$TAP_PIDS $WPID"
wait_port 127.0.0.1 "$HP" 10
cat >"$WORK/uacme-hook" <<HOOK
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH
[ "\$2" = http-01 ] || exit 1
f=$WORK/uacme-www/.well-known/acme-challenge/\$4
case \$1 in begin) printf '%s' "\$5" >"\$f" ;; *) rm -f "\$f" ;; esac
HOOK
chmod +x "$WORK/uacme-hook"
U="uacme -y -t EC -c $WORK/uacme -a $DIR -h $WORK/uacme-hook"
unshare -Urm sh -c "mount --bind $CA /etc/ssl/certs/ca-certificates.crt && $U new bench@example.test" >"$WORK/uacme-new.log" 2>&1 ||
	echo "# uacme new failed: $(tail -2 "$WORK/uacme-new.log")" >&2
run uacme unshare -Urm sh -c "mount --bind $CA /etc/ssl/certs/ca-certificates.crt && n=0; for d in \$(cat $WORK/uacme.names); do $U issue \$d >/dev/null 2>&1 && n=\$((n+1)); done; echo \$n >$WORK/uacme.count"
kill "$WPID"
fi

# --- the table -----------------------------------------------------------------
python3 - "$RESULTS" "$N" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    label, t0, t1, u, s, p0, p1, certs = line.split()
    certs = int(certs); wall = float(t1) - float(t0)
    c = max(certs, 1)
    rows.append((label, certs, wall, certs / wall * 60, (float(u) + float(s)) / c, (float(p1) - float(p0)) / c))
best = max(r[3] for r in rows)
print(f"ACME issuance against one Pebble (no VA sleep, no nonce rejects), {sys.argv[2]} names, one certificate each")
print(f"{'client':<14}{'certs':>6}{'wall s':>9}{'certs/min':>11}{'client CPU s/cert':>19}{'Pebble CPU s/cert':>19}{'vs fastest':>12}")
for label, certs, wall, rate, ccpu, pcpu in rows:
    print(f"{label:<14}{certs:>6}{wall:>9.1f}{rate:>11.1f}{ccpu:>19.4f}{pcpu:>19.4f}{rate / best:>11.3g}x")
PY
