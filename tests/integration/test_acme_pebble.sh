#!/bin/sh
# certdesk's ACME client against a real Pebble (nonce rejects 15 %, no authz
# reuse, validation sleeps): accounts, EAB, issuance for one and several names
# with the chain checked against Pebble's root, a challenge that is not served,
# revocation (account and certificate key) checked at Pebble, Pebble paused and
# resumed, and Pebble restarted (state lost: one re-registration, new order).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/pebble.sh"

challtestsrv_start || exit 1
PEBBLE_ALTERNATE_ROOTS=1; pebble_start g4 || exit 1; unset PEBBLE_ALTERNATE_ROOTS
for n in chain.example.test one.example.test a.multi.test b.multi.test c.multi.test bad.example.test \
	pause.example.test restart.example.test rev1.example.test rev2.example.test; do
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
pebble_roots g4 "$WORK/root1.pem" 1
root1=$(openssl x509 -in "$WORK/root1.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
{
	printf '[acme]\nactive_ca = pebble\n'
	pebble_ca_section g4 alt
	printf 'preferred_chain = %s\nvalidity = request\nkey_type = rsa2048\n' "$root1"
} >>"$S/certdesk.ini"
check "issue at the second CA with --valid-days 10" issue --ca alt --name chain.example.test --valid-days 10
top=$(awk '/BEGIN/{k++} k>1' "$WORK/out/chain.example.test/fullchain.pem" | openssl x509 -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= //p')
check "the preferred (alternate) chain was chosen: top issuer '$root1'" test "$top" = "$root1"
awk '/BEGIN/{n++} n>1' "$WORK/out/chain.example.test/fullchain.pem" >"$WORK/untrusted.pem"
check "it verifies against the alternate root" openssl verify -CAfile "$WORK/root1.pem" -untrusted "$WORK/untrusted.pem" "$WORK/out/chain.example.test/fullchain.pem"
check "notAfter was requested: about 10 days" python3 - "$WORK/out/chain.example.test/fullchain.pem" <<'PY'
import subprocess, sys, time, email.utils
na = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-enddate"], capture_output=True, text=True).stdout.split("=", 1)[1].strip()
t = time.mktime(time.strptime(na, "%b %d %H:%M:%S %Y GMT")) - time.timezone
sys.exit(0 if abs(t - time.time() - 10 * 86400) < 3600 else 1)
PY
check "the certificate key is RSA (key_type = rsa2048)" sh -c "openssl x509 -in $WORK/out/chain.example.test/fullchain.pem -noout -text | grep -q 'rsaEncryption'"
check "ca list shows both CAs, pebble active" sh -c "$CD ca list | grep -q '^pebble  *active' && $CD ca list | grep -q '^alt  *known'"

# --- a challenge nobody serves --------------------------------------------------
fails "an unserved token fails the order with the CA's reason" "could not validate bad.example.test" \
	$CD ca issue --out "$WORK/out" --http-listen "127.0.0.1:$(free_port)" --name bad.example.test
cp "$WORK/.out" "$WORK/bad.out"
check "the reason names the problem type" grep -q "urn:ietf:params:acme:error:connection" "$WORK/bad.out"

# --- revocation -----------------------------------------------------------------
issue --name rev1.example.test >/dev/null 2>&1
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
before=$(events ca.reregister)
pebble_restart g4 || exit 1
check "issuance after a restart re-registers and succeeds" issue --name restart.example.test
check "exactly one re-registration event" test "$(events ca.reregister)" = $((before + 1))
pebble_roots g4 "$WORK/root.pem"
check "the new certificate verifies against the new root" verify_chain "$WORK/out/restart.example.test/fullchain.pem"
check "the account URL in the store changed" sh -c "$CD ca list | grep -q my-account"

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

done_testing
