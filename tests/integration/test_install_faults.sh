#!/bin/sh
# Install faults on real nginx, each ending with the old certificate still
# served: nginx -t failing for one site of a batch (a leaf nginx refuses) sets
# that site aside and the rest of the batch goes live; a reload that cannot
# bind (nginx -t and -s reload both say 0) is detected and rolled back; a
# server whose nginx is down fails the install and leaves the old files.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/certs.sh"
. "$(dirname "$0")/lib/nginx.sh"
. "$(dirname "$0")/lib/hosting.sh"

hosting_init || { echo "Bail out! cannot make the test CA"; exit 1; }
A=127.0.0.42
B=127.0.0.43
hosting_server web1 $A b1.test b2.test b3.test || { echo "Bail out! nginx did not start"; exit 1; }
hosting_server web2 $B c1.test || { echo "Bail out! nginx did not start"; exit 1; }
R=$WORK/root-web1
serves() { test "$(served_serial "$1" "$2" "$3")" = "$(cert_serial "$4")"; }

# 1. nginx -t fails for one site of a batch
hosting_leaf b1.test new
hosting_leaf b2.test new rsa:1024 # OpenSSL's security level refuses it in nginx
hosting_leaf b3.test new
before=$(reloads web1)
$CD install apply --server web1 \
	b1.test "$CERTS/b1.test-new.fullchain.pem" "$CERTS/b1.test-new.key" \
	b2.test "$CERTS/b2.test-new.fullchain.pem" "$CERTS/b2.test-new.key" \
	b3.test "$CERTS/b3.test-new.fullchain.pem" "$CERTS/b3.test-new.key" >"$WORK/apply.out" 2>&1
rc=$?
check "the command reports a failure" test $rc = 1
check "the refused site is install_failed, naming its file" \
	grep -q "^b2.test: install_failed (batch of 3): web1: nginx -t failed: .*$R/b2.test/" "$WORK/apply.out"
check "the rest of the batch is installed" test "$(grep -c ': installed (batch of 3)' "$WORK/apply.out")" = 2
check "with one reload" test "$(reloads web1)" = $((before + 1))
check "b1.test serves its new certificate" serves $A "$TLS_web1" b1.test "$CERTS/b1.test-new.crt"
check "b3.test serves its new certificate" serves $A "$TLS_web1" b3.test "$CERTS/b3.test-new.crt"
check "b2.test still serves its old certificate" serves $A "$TLS_web1" b2.test "$CERTS/b2.test-old.crt"
check "b2.test's files are the old ones again" cmp -s "$R/b2.test/fullchain.pem" "$CERTS/b2.test-old.fullchain.pem"
check "and its old key" cmp -s "$R/b2.test/privkey.pem" "$CERTS/b2.test-old.key"
check "the server's config passes nginx -t again" $CD install test --server web1

# 2. a reload that cannot bind: the operator's config gained a listen on a busy port
busy=$(free_port)
occupy_port $A "$busy"
nginx_site_listen_extra web1 b1.test "$busy"
hosting_leaf b1.test new2
$CD install apply --server web1 b1.test "$CERTS/b1.test-new2.fullchain.pem" "$CERTS/b1.test-new2.key" >"$WORK/bind.out" 2>&1
rc=$?
check "an unbindable reload fails the install" test $rc = 1
check "it says why (nginx's bind error)" grep -q "install_failed.*bind() to $A:$busy failed" "$WORK/bind.out"
check "and that the previous certificate was restored" grep -q "previous certificate was restored" "$WORK/bind.out"
check "b1.test serves the certificate it had" serves $A "$TLS_web1" b1.test "$CERTS/b1.test-new.crt"
check "b1.test's files are back" cmp -s "$R/b1.test/fullchain.pem" "$CERTS/b1.test-new.fullchain.pem"
fails "verify does not call the new certificate live" "served serial $(cert_serial "$CERTS/b1.test-new.crt"), expected $(cert_serial "$CERTS/b1.test-new2.crt")" \
	$CD install verify --server web1 --expect "$CERTS/b1.test-new2.crt" b1.test
nginx_site_listen_drop web1 b1.test "$busy"
check "after the operator's fix the same install goes through" sh -c \
	"$CD install apply --server web1 b1.test '$CERTS/b1.test-new2.fullchain.pem' '$CERTS/b1.test-new2.key' | grep -q ': installed'"
check "b1.test serves the newest certificate" serves $A "$TLS_web1" b1.test "$CERTS/b1.test-new2.crt"

# 3. the server is down
nginx_stop web2
hosting_leaf c1.test new
fails "an install on a stopped server fails" "nginx is not running on web2" \
	$CD install apply --server web2 c1.test "$CERTS/c1.test-new.fullchain.pem" "$CERTS/c1.test-new.key"
check "the old files are back in place" cmp -s "$WORK/root-web2/c1.test/fullchain.pem" "$CERTS/c1.test-old.fullchain.pem"
fails "verify says the connection was refused" "connection refused" \
	$CD install verify --server web2 --expect "$CERTS/c1.test-new.crt" c1.test

done_testing
