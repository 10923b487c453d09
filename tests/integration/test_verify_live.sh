#!/bin/sh
# The live probe against real nginx: the expected certificate with its chain
# is live on every name; otherwise the result says exactly what is wrong (a
# different serial served, a chain that does not verify to the roots, a
# missing intermediate, a name the certificate does not cover, nothing
# listening).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/certs.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/hosting.sh"

hosting_init || { echo "Bail out! cannot make the test CA"; exit 1; }
A=127.0.0.44
hosting_server web1 $A v1.test v2.test || { echo "Bail out! nginx did not start"; exit 1; }
# v2.test serves its leaf without the intermediate
nginx_place_cert "$WORK/root-web1" v2.test "$CERTS/v2.test-old.crt" "$CERTS/v2.test-old.key"
nginx_reload web1 && sleep 0.5
testca_init "$WORK/otherca"

check "the expected certificate is live on both names" sh -c \
	"$CD install verify --server web1 --expect '$CERTS/v1.test-old.fullchain.pem' v1.test www.v1.test >'$WORK/ok.out'"
check "each name is reported live with its serial" \
	test "$(grep -c "^live .*serves serial $(cert_serial "$CERTS/v1.test-old.crt")" "$WORK/ok.out")" = 2
hosting_leaf v1.test next
fails "another certificate served is named by serial" \
	"served serial $(cert_serial "$CERTS/v1.test-old.crt"), expected $(cert_serial "$CERTS/v1.test-next.crt")" \
	$CD install verify --server web1 --expect "$CERTS/v1.test-next.crt" v1.test
fails "a chain to other roots does not verify" "chain does not verify: unable to get local issuer certificate" \
	$CD install verify --server web1 --roots "$WORK/otherca/root.pem" --expect "$CERTS/v1.test-old.crt" v1.test
fails "a missing intermediate is found" "v2.test: chain does not verify: unable to get local issuer certificate" \
	$CD install verify --server web1 --expect "$CERTS/v2.test-old.crt" v2.test
fails "a name the certificate does not cover fails" "other.test: chain does not verify: hostname mismatch" \
	$CD install verify --server web1 --expect "$CERTS/v1.test-old.crt" other.test
printf 'server,ipv4,ipv6,state,driver,http_port,https_port\nnone,%s,,ok,nginx,%s,%s\n' $A "$HTTP_PORT" "$(free_port)" >"$WORK/none.csv"
$CD import servers "$WORK/none.csv" >/dev/null
start=$(date +%s%N)
fails "nothing listening: connection refused" "v1.test: $A:" \
	$CD install verify --server none --expect "$CERTS/v1.test-old.crt" v1.test
ms=$((($(date +%s%N) - start) / 1000000))
check "retried [verify] attempts times with retry_ms between ($ms ms)" test "$ms" -ge 400
fails "the refusal is named" "connection refused" \
	$CD install verify --server none --expect "$CERTS/v1.test-old.crt" v1.test

done_testing
