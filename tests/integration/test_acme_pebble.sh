#!/bin/sh
# certdesk's ACME client against a real Pebble (nonce rejects 15 %, no authz
# reuse, validation sleeps): accounts, EAB, issuance for one and several names
# with the chain checked against Pebble's root, a challenge that is not served,
# revocation (account and certificate key) checked at Pebble, Pebble paused and
# resumed, and Pebble restarted (state lost: one re-registration, new order, an
# order URL from before answers "gone"). preferred_chain against Pebble's
# alternate chains (3 roots, chains of 3 intermediates); http-01 served on IPv6
# and to several validations at once while idle clients hold connections; an
# EAB given to `ca register` kept (sealed) for the re-registration after a restart.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"

challtestsrv_start || exit 1
PEBBLE_ALTERNATE_ROOTS=2 PEBBLE_CHAIN_LENGTH=3
pebble_start g4 || exit 1
unset PEBBLE_ALTERNATE_ROOTS PEBBLE_CHAIN_LENGTH
for n in chain.example.test one.example.test a.multi.test b.multi.test c.multi.test bad.example.test \
	pause.example.test restart.example.test rev1.example.test rev2.example.test \
	inner.example.test nomatch.example.test busy1.example.test busy2.example.test \
	busy3.example.test; do
	cts_add_a "$n" 127.0.0.1
done

S=$WORK/s
new_store "$S"
{
	pebble_ca_section g4 pebble
	printf '[acme]\npoll_initial_ms = 200\npoll_max_ms = 1000\nhttp_timeout_s = 2\nhttp_retries = 6\n'
} >>"$S/certdesk.ini"
LISTEN=127.0.0.1:$PEBBLE_g4_HTTP_PORT
issue() { $CD ca issue --out "$WORK/out" --http-listen "$LISTEN" "$@"; }
events() { sqlite3 "$S/certdesk.db" "SELECT count(*) FROM events WHERE kind = '$1'"; }

# --- accounts ---------------------------------------------------------------
check "ca list shows the CA before any account" sh -c "$CD ca list | grep -q 'no account yet'"
$CD ca register >"$WORK/reg1" 2>&1
check "register creates an account" grep -q "(registered)" "$WORK/reg1"
$CD ca register >"$WORK/reg2" 2>&1
check "a second register finds the same account" grep -q "already registered" "$WORK/reg2"
check "same account URL both times" test "$(awk '{print $4}' "$WORK/reg1")" = "$(awk '{print $4}' "$WORK/reg2")"
check "the account key is sealed in the store" test "$(sqlite3 "$S/certdesk.db" "SELECT count(*) FROM secrets WHERE secret_id = 'ca-account:pebble' AND sealed LIKE 'v1.%'")" = 1
check "ca list shows the account" sh -c "$CD ca list | grep -q 'my-account'"

# --- issuance -----------------------------------------------------------------
pebble_roots g4 "$WORK/root.pem"
cp "$WORK/root.pem" "$WORK/root0.pem"
verify_chain() { # FILE: leaf verified through the rest of the chain to Pebble's root
	awk '/BEGIN/{n++} n>1' "$1" >"$WORK/untrusted.pem"
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/untrusted.pem" "$1"
}
check "issue one name" issue --name one.example.test
check "its chain verifies against Pebble's root" verify_chain "$WORK/out/one.example.test/fullchain.pem"
check "the key matches the certificate" sh -c "test \"\$(openssl x509 -in $WORK/out/one.example.test/fullchain.pem -noout -pubkey)\" = \"\$(openssl pkey -in $WORK/out/one.example.test/privkey.pem -pubout)\""
check "the key file is 0600" test "$(stat -c %a "$WORK/out/one.example.test/privkey.pem")" = 600
check "issue three names in one certificate" issue --name a.multi.test --name b.multi.test --name c.multi.test
check "all three names are in the certificate" sh -c "openssl x509 -in $WORK/out/a.multi.test/fullchain.pem -noout -ext subjectAltName | grep -q 'DNS:a.multi.test, DNS:b.multi.test, DNS:c.multi.test'"
check "that chain verifies too" verify_chain "$WORK/out/a.multi.test/fullchain.pem"

# --- a second CA entry: preferred chain by issuer name, validity = request ---------
# Pebble offers 3 chains (roots 0, 1, 2), each leaf <- intermediate <- "... #1" <-
# "... #2" <- root: the default chain leads to root 0, the alternates to 1 and 2.
cn_of() { openssl x509 -in "$1" -noout "-$2" -nameopt multiline | sed -n 's/^ *commonName *= //p'; }
top_issuer() { # the issuer CN of the last certificate of a PEM chain
	awk '/BEGIN/{c=""} {c=c $0 "\n"} END{printf "%s", c}' "$1" | openssl x509 -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= //p'
}
verify_at() { # FILE ROOTFILE
	awk '/BEGIN/{n++} n>1' "$1" >"$WORK/untrusted.pem"
	openssl verify -CAfile "$2" -untrusted "$WORK/untrusted.pem" "$1"
}
pebble_roots g4 "$WORK/root1.pem" 1
pebble_roots g4 "$WORK/root2.pem" 2
pebble_intermediates g4 "$WORK/int2.pem" 2
root1=$(cn_of "$WORK/root1.pem" subject)
inner2=$(cn_of "$WORK/int2.pem" issuer) # "Pebble Intermediate CA x #1": inside chain 2 only
{
	printf '[acme]\nactive_ca = pebble\n'
	pebble_ca_section g4 alt
	printf 'preferred_chain = %s\nvalidity = request\nkey_type = rsa2048\naccount_key_type = p384\n' "$root1"
	pebble_ca_section g4 inner
	printf 'preferred_chain = %s\nkey_type = p256\n' "$inner2"
	pebble_ca_section g4 nomatch
	printf 'preferred_chain = No Such Root CA\ncert_key_type = p384\n'
} >>"$S/certdesk.ini"
check "issue at the second CA with --valid-days 10" issue --ca alt --name chain.example.test --valid-days 10
top=$(top_issuer "$WORK/out/chain.example.test/fullchain.pem")
check "the preferred (alternate) chain was chosen: top issuer '$root1'" test "$top" = "$root1"
check "it verifies against the alternate root 1" verify_at "$WORK/out/chain.example.test/fullchain.pem" "$WORK/root1.pem"
check "notAfter was requested: about 10 days" python3 - "$WORK/out/chain.example.test/fullchain.pem" <<'PY'
import subprocess, sys, time, email.utils
na = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-enddate"], capture_output=True, text=True).stdout.split("=", 1)[1].strip()
t = time.mktime(time.strptime(na, "%b %d %H:%M:%S %Y GMT")) - time.timezone
sys.exit(0 if abs(t - time.time() - 10 * 86400) < 3600 else 1)
PY
check "the certificate key is RSA (key_type = rsa2048)" sh -c "openssl x509 -in $WORK/out/chain.example.test/fullchain.pem -noout -text | grep -q 'rsaEncryption'"
check "the account key of [ca alt] is P-384 (account_key_type)" sh -c "$CD ca list | grep -A3 '^alt ' | grep -q 'account key p384, certificate keys rsa2048'"
check "preferred_chain naming a CA inside an alternate chain (not its top) picks it" \
	issue --ca inner --name inner.example.test
check "that chain leads to root 2" verify_at "$WORK/out/inner.example.test/fullchain.pem" "$WORK/root2.pem"
check "and contains '$inner2'" sh -c "openssl crl2pkcs7 -nocrl -certfile $WORK/out/inner.example.test/fullchain.pem | openssl pkcs7 -print_certs -noout | grep -qF 'subject=CN = $inner2'"
check "the certificate key is P-256 (key_type = p256)" sh -c "openssl x509 -in $WORK/out/inner.example.test/fullchain.pem -noout -text | grep -q 'prime256v1'"
check "a preferred_chain no chain matches keeps the default chain (root 0)" \
	sh -c "$CD ca issue --ca nomatch --out $WORK/out --http-listen $LISTEN --name nomatch.example.test && openssl verify -CAfile $WORK/root0.pem -untrusted $WORK/out/nomatch.example.test/fullchain.pem $WORK/out/nomatch.example.test/fullchain.pem"
check "the old name cert_key_type still sets the certificate key (P-384)" sh -c "openssl x509 -in $WORK/out/nomatch.example.test/fullchain.pem -noout -text | grep -q 'secp384r1'"
check "doctor says cert_key_type is deprecated" sh -c "$CD doctor | grep -qF '[ca nomatch] cert_key_type is deprecated: rename it to key_type'"
check "ca list shows the CAs, pebble active" sh -c "$CD ca list | grep -q '^pebble  *active' && $CD ca list | grep -q '^alt  *known'"

# --- http-01 on IPv6, and to several validations while idle clients wait ------------
cts_add_aaaa v6.example.test ::1
check "http-01 served on [::1] (the name has only an AAAA record)" \
	issue --http-listen "[::1]:$PEBBLE_g4_HTTP_PORT" --name v6.example.test
check "its chain verifies" verify_chain "$WORK/out/v6.example.test/fullchain.pem"
# clients that connect and send nothing, reconnecting whenever they are dropped,
# for as long as the issuance runs: the CA's validations must still be answered
python3 - 127.0.0.1 "$PEBBLE_g4_HTTP_PORT" "$WORK/idle.stop" >"$WORK/idle.count" <<'PY' &
import socket, sys, os, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks, made = [], 0
while not os.path.exists(stop):
    socks = [s for s in socks if s.fileno() >= 0]
    while len(socks) < 8:
        try:
            s = socket.create_connection((host, port), timeout=1); socks.append(s); made += 1
        except OSError:
            break
    for s in list(socks):  # drop the ones the server closed
        s.setblocking(False)
        try:
            if s.recv(1) == b"": s.close(); socks.remove(s)
        except BlockingIOError:
            pass
        except OSError:
            s.close(); socks.remove(s)
    time.sleep(0.05)
print(made)
PY
idler=$!
TAP_PIDS="$TAP_PIDS $idler"
check "three names at once (--jobs 3) while 8 idle clients hold connections" \
	issue --name busy1.example.test --name busy2.example.test --name busy3.example.test --each --jobs 3
touch "$WORK/idle.stop"; wait $idler
check "the idle clients were connected meanwhile" test "$(cat "$WORK/idle.count")" -ge 8
check "all three certificates were written" sh -c "ls $WORK/out/busy1.example.test/fullchain.pem $WORK/out/busy2.example.test/fullchain.pem $WORK/out/busy3.example.test/fullchain.pem"
fails "--http-listen with a bad address is refused" "is not ADDR:PORT" issue --http-listen "::1:$PEBBLE_g4_HTTP_PORT" --name v6.example.test

# --- a challenge nobody serves --------------------------------------------------
fails "an unserved token fails the order with the CA's reason" "could not validate bad.example.test" \
	$CD ca issue --out "$WORK/out" --http-listen "127.0.0.1:$(free_port)" --name bad.example.test
cp "$WORK/.out" "$WORK/bad.out"
check "the reason names the problem type" grep -q "urn:ietf:params:acme:error:connection" "$WORK/bad.out"

# --- revocation -----------------------------------------------------------------
issue --name rev1.example.test >"$WORK/rev1.out" 2>&1
issue --name rev2.example.test >/dev/null 2>&1
s1=$(pebble_cert_serial "$WORK/out/rev1.example.test/fullchain.pem")
s2=$(pebble_cert_serial "$WORK/out/rev2.example.test/fullchain.pem")
check "Pebble knows the new certificate as Valid" test "$(pebble_serial_status g4 "$s1")" = Valid
check "revoke by account" $CD ca revoke --cert "$WORK/out/rev1.example.test/fullchain.pem" --reason superseded
check "Pebble says Revoked" test "$(pebble_serial_status g4 "$s1")" = Revoked
check "revoking it again is success (alreadyRevoked)" $CD ca revoke --cert "$WORK/out/rev1.example.test/fullchain.pem"
check "revoke signed with the certificate's key" $CD ca revoke --cert "$WORK/out/rev2.example.test/fullchain.pem" --key "$WORK/out/rev2.example.test/privkey.pem" --reason keyCompromise
check "Pebble says Revoked for that one too" test "$(pebble_serial_status g4 "$s2")" = Revoked
fails "a key that is not the certificate's is refused" "not the private key" \
	$CD ca revoke --cert "$WORK/out/one.example.test/fullchain.pem" --key "$WORK/out/rev2.example.test/privkey.pem"
fails "an unknown reason is refused" "not one of" $CD ca revoke --cert "$WORK/out/one.example.test/fullchain.pem" --reason nope

# --- Pebble paused, then resumed ------------------------------------------------
pebble_pause g4
issue --name pause.example.test >"$WORK/pause.out" 2>&1 &
ipid=$!
sleep 4
pebble_resume g4
wait $ipid
check "issuance while Pebble was paused completes after resume" test -s "$WORK/out/pause.example.test/fullchain.pem"
check "it said it retried" grep -q "retry" "$WORK/pause.out"

# --- Pebble restarted: state lost ---------------------------------------------
order_url=$(sed -n 's/^issued rev1.example.test .*, order \(https:[^ ]*\)$/\1/p' "$WORK/rev1.out")
check "issue printed the order URL" test -n "$order_url"
$CD ca order --url "$order_url" >"$WORK/order.before" 2>&1
before=$(events ca.reregister)
pebble_restart g4 || exit 1
check "issuance after a restart re-registers and succeeds" issue --name restart.example.test
check "exactly one re-registration event" test "$(events ca.reregister)" = $((before + 1))
pebble_roots g4 "$WORK/root.pem"
check "the new certificate verifies against the new root" verify_chain "$WORK/out/restart.example.test/fullchain.pem"
check "the account URL in the store changed" sh -c "$CD ca list | grep -q my-account"
check "before the restart, ca order showed that order valid" grep -q "status valid" "$WORK/order.before"
code=0; $CD ca order --url "$order_url" >"$WORK/order.after" 2>&1 || code=$?
check "after it, the stored order URL answers gone (exit 3), not bad input (2)" test "$code" = 3
check "and says so with the CA's answer" sh -c "grep -q 'is gone' $WORK/order.after && grep -q 'HTTP 404' $WORK/order.after"
check "no second re-registration for it" test "$(events ca.reregister)" = $((before + 1))

# --- EAB --------------------------------------------------------------------------
key=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
PEBBLE_EAB="kid-1=$key"; pebble_start eab || exit 1; unset PEBBLE_EAB
E=$WORK/e
new_store "$E"
pebble_ca_section eab jprs >>"$E/certdesk.ini"
CDE="$CERTDESK --config $E/certdesk.ini"
fails "without a binding the CA's requirement is explained" "External Account Binding" $CDE ca register
printf '  %s\n\n' "$key" >"$E/hmac.good"
python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' >"$E/hmac.bad"
fails "a wrong HMAC is refused by the CA" "unauthorized" $CDE ca register --eab-kid kid-1 --eab-hmac-file "$E/hmac.bad"
check "the right HMAC (padding-free, whitespace around it) registers" $CDE ca register --eab-kid kid-1 --eab-hmac-file "$E/hmac.good"
check "the HMAC never appears in the store" sh -c "! grep -qF '$key' $E/certdesk.db"
check "the HMAC key is sealed in the store for a re-registration" test "$(sqlite3 "$E/certdesk.db" "SELECT count(*) FROM secrets WHERE secret_id = 'ca-eab:jprs:kid-1' AND sealed LIKE 'v1.%'")" = 1
check "the kid is kept with the account" test "$(sqlite3 "$E/certdesk.db" "SELECT eab_kid FROM ca_accounts WHERE ca = 'jprs'")" = kid-1
check "ca list shows the kept binding" sh -c "$CDE ca list | grep -qF \"EAB kid kid-1 (kept from 'ca register')\""
pebble_restart eab || exit 1
cts_add_a eab.example.test 127.0.0.1
check "after the EAB CA lost its state, issuance re-registers with the kept binding" \
	$CDE ca issue --out "$E/out" --http-listen "127.0.0.1:$PEBBLE_eab_HTTP_PORT" --name eab.example.test
cp "$WORK/.out" "$E/issue.out"
check "the event says the binding kept from 'ca register' was used" test "$(sqlite3 "$E/certdesk.db" "SELECT count(*) FROM events WHERE kind = 'ca.reregister' AND detail LIKE '%kid kid-1, kept from%'")" = 1
check "the HMAC is in no output nor event" sh -c "! grep -qF '$key' $E/issue.out && ! sqlite3 $E/certdesk.db 'SELECT detail FROM events' | grep -qF '$key'"
# the CA forgets the account again and no longer takes the kept binding (the kid
# now has another HMAC key, as when a CA accepts a kid only once)
key2=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
sed -i "s/$key/$key2/" "$WORK/pebble-eab/pebble.json"
pebble_restart eab || exit 1
cts_add_a eab2.example.test 127.0.0.1
fails "a kept binding the CA refuses: the message says what to do" "get a new one from the CA and run 'certdesk ca register --eab-kid" \
	$CDE ca issue --out "$E/out" --http-listen "127.0.0.1:$PEBBLE_eab_HTTP_PORT" --name eab2.example.test
cp "$WORK/.out" "$E/refused.out"
check "and it names the CA's refusal" grep -q "unauthorized" "$E/refused.out"

done_testing
