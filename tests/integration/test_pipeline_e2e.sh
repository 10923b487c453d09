#!/bin/sh
# test_pipeline_e2e.sh - the reissue pipeline end to end on the real peers:
# 20 sites on two nginx servers hold certificates issued by Pebble "g3"; a
# campaign for g3's issuer; an order per certificate; `certdesk worker`
# takes each from queued to done at Pebble "g4" (the active CA). Then what a
# user would see: every name serves the new certificate (issued today, chain
# to g4's root), g3 says every old serial is revoked, the SMTP server holds
# one mail per order, and every order's events read in order.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/smtp.sh"
. "$(dirname "$0")/lib/world.sh"

SITES_A="s01 s02 s03 s04 s05 s06 s07 s08 s09 s10"
SITES_B="s11 s12 s13 s14 s15 s16 s17 s18 s19 s20"
D=example.jp

bail() { not_ok "$1"; done_testing; exit 1; }

world_peers || bail "the pipeline world starts"
world_ini

# --- the old certificates, issued by g3 to names pointing at certdesk itself
for s in $SITES_A $SITES_B; do echo "$s.$D"; done >"$WORK/names.txt"
world_local_dns "$WORK/names.txt" || bail "DNS for the old certificates"
check "old certificates issued at g3" world_old_certs "$WORK/names.txt"

# --- two hosting servers serving them; DNS now points every name there
# shellcheck disable=SC2086
world_server_up web01 127.0.0.2 $SITES_A || bail "web01 serves"
# shellcheck disable=SC2086
world_server_up web02 127.0.0.3 $SITES_B || bail "web02 serves"

# --- the inventory
{
	echo "member_id,email,display_name,locale"
	echo "m1,m1@example.test,山田 太郎,ja"
	echo "m2,m2@example.test,Jane Doe,en"
} >"$WORK/members.csv"
echo "fqdn,member_id,server,state" >"$WORK/sites.csv"
echo "certificate_id,member_id,product,common_name,term_start,term_end,pem_file" \
	>"$WORK/certificates.csv"
for s in $SITES_A $SITES_B; do
	case $s in s0[1-5] | s1[1-5]) m=m1 ;; *) m=m2 ;; esac
	case " $SITES_A " in *" $s "*) srv=web01 ;; *) srv=web02 ;; esac
	echo "$s.$D,$m,$srv,ok" >>"$WORK/sites.csv"
	echo "c-$s,$m,jprs_dv_rs_1y,$s.$D,2026-01-01,2027-12-31,old/$s.$D/fullchain.pem" \
		>>"$WORK/certificates.csv"
	pebble_cert_serial "$WORK/old/$s.$D/fullchain.pem" >"$WORK/old/$s.serial"
done
imp=0
for k in members servers sites certificates; do
	$CD import "$k" "$WORK/$k.csv" >"$WORK/import-$k.log" 2>&1 || imp=1
done
for srv in web01 web02; do
	$CD import installed --server "$srv" "$WORK/root-$srv" >>"$WORK/import.log" 2>&1 || imp=1
done
if [ $imp -eq 0 ]; then ok "inventory imported"; else not_ok "inventory imported"; cat "$WORK"/import*.log | sed 's/^/# /'; fi
check "campaign for g3's issuer" $CD campaign create --name g3-revocation --issuer "$G3_DN" \
	--deadline 2027-01-31

for s in $SITES_A $SITES_B; do
	$CD reissue --certificate "c-$s" >/dev/null 2>"$WORK/reissue.err" ||
		{ not_ok "reissue c-$s"; sed 's/^/# /' "$WORK/reissue.err"; }
done

# --- the workers, until every order is done (or failed)
t0=$(date +%s)
if timeout 300 $CD worker --until-idle >"$WORK/worker.log" 2>&1; then ok "worker ran until idle"
else not_ok "worker ran until idle"; tail -30 "$WORK/worker.log" | sed 's/^/# /'; fi
echo "# worker took $(($(date +%s) - t0)) s"

$CD orders list --limit 100 >"$WORK/orders.txt"
ndone=$(grep -c ' done ' "$WORK/orders.txt")
if [ "$ndone" -eq 20 ]; then ok "20 orders done"
else not_ok "20 orders done ($ndone)"; sed 's/^/# /' "$WORK/orders.txt"; fi
if grep -q revocation_pending "$WORK/orders.txt"; then
	not_ok "no order left revocation_pending"; grep revocation_pending "$WORK/orders.txt" | sed 's/^/# /'
else ok "no order left revocation_pending"; fi

# --- what a browser would see on every name
today=$(date -u +%Y-%m-%d)
bad_serve=0 bad_chain=0 bad_date=0 bad_revoke=0
for s in $SITES_A $SITES_B; do
	case " $SITES_A " in *" $s "*) addr=127.0.0.2 tls=$TLS_web01 ;; *) addr=127.0.0.3 tls=$TLS_web02 ;; esac
	for n in "$s.$D" "www.$s.$D"; do
		echo | openssl s_client -connect "$addr:$tls" -servername "$n" -showcerts \
			-CAfile "$WORK/g4-roots.pem" -verify_return_error -verify_hostname "$n" \
			>"$WORK/probe.txt" 2>&1 || bad_chain=$((bad_chain + 1))
		serial=$(served_serial "$addr" "$tls" "$n")
		old=$(cat "$WORK/old/$s.serial")
		if [ -z "$serial" ] || [ "$(echo "$serial" | tr a-f A-F | sed 's/^0*//')" = "$(echo "$old" | tr a-f A-F | sed 's/^0*//')" ]; then
			bad_serve=$((bad_serve + 1))
		fi
		nb=$(sed -n '/BEGIN CERT/,/END CERT/p' "$WORK/probe.txt" | openssl x509 -noout -startdate 2>/dev/null |
			sed 's/notBefore=//')
		[ "$(date -u -d "$nb" +%Y-%m-%d 2>/dev/null)" = "$today" ] || bad_date=$((bad_date + 1))
	done
	st=$(pebble_serial_status g3 "$(cat "$WORK/old/$s.serial")")
	[ "$st" = "Revoked" ] || bad_revoke=$((bad_revoke + 1))
done
[ $bad_serve -eq 0 ] && ok "all 40 names serve a new certificate" || not_ok "names still serving the old certificate: $bad_serve"
[ $bad_chain -eq 0 ] && ok "every chain verifies to g4's root for its name" || not_ok "chains not verifying: $bad_chain"
[ $bad_date -eq 0 ] && ok "every new certificate is valid from today" || not_ok "not valid from today: $bad_date"
[ $bad_revoke -eq 0 ] && ok "g3 reports every old serial revoked" || not_ok "old serials not revoked at g3: $bad_revoke"

# --- mail: one per order, each a distinct Message-ID
sleep 1
n=$(smtp_count) d=$(smtp_distinct_ids)
if [ "$n" -ge 20 ] && [ "$d" -eq 20 ]; then ok "one mail per order ($d distinct Message-IDs, $n deliveries)"
else not_ok "one mail per order ($d distinct, $n deliveries)"; fi

# --- events: each order's transitions follow the state machine in order
path="queued preflight key_ready ordered validating finalizing issued installed live notified old_revoked done"
bad_events=0
for id in $(awk 'NR > 1 { print $1 }' "$WORK/orders.txt"); do
	got=$($CD orders show "$id" | awk '/ order.transition / { for (i = 1; i <= NF; i++) if ($i == "->") print $(i + 1) }' |
		tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$path" ] || { bad_events=$((bad_events + 1)); echo "# order $id: $got"; }
done
[ $bad_events -eq 0 ] && ok "every order's events read queued → … → done" || not_ok "orders with odd events: $bad_events"

# --- invariant 4: keys on the servers are 0600
loose=$(find "$WORK/root-web01" "$WORK/root-web02" -name privkey.pem -perm /077 | wc -l)
[ "$loose" -eq 0 ] && ok "no key file readable by others" || not_ok "$loose key files readable by others"
done_testing
