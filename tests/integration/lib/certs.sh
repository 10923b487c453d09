# certs.sh - a test certificate authority made with openssl(1) for the
# integration tests: a root, an intermediate under it, and leaves for the test
# names (the tests make every key themselves; nothing here is a secret).
#
#   testca_init DIR              DIR/root.pem, DIR/int.pem (+ their keys)
#   testca_leaf DIR NAME OUT [KEY [DAYS]]
#                                OUT.key, OUT.crt (SAN NAME and www.NAME unless
#                                NAME starts with www.) and OUT.fullchain.pem
#                                (leaf + intermediate); KEY is an openssl
#                                genpkey spec: "ec" (P-256, the default) or
#                                "rsa:BITS" (rsa:1024 makes a leaf that
#                                OpenSSL's security level 2, hence nginx, refuses)
#   cert_serial FILE             the serial of the first certificate, upper-case hex
#   cert_sha256 FILE             its SHA-256 fingerprint, lower-case hex, no colons
# Source it after tap.sh.

_testca_key() { # _testca_key SPEC OUT
	case $1 in
	rsa:*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${1#rsa:}" -out "$2" 2>/dev/null ;;
	*) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
	esac
}

testca_init() {
	_tc_d=$1
	mkdir -p "$_tc_d"
	_testca_key ec "$_tc_d/root.key" || return 1
	openssl req -x509 -new -key "$_tc_d/root.key" -subj "/CN=certdesk test root $$" -days 30 \
		-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$_tc_d/root.pem" 2>/dev/null || return 1
	_testca_key ec "$_tc_d/int.key" || return 1
	openssl req -new -key "$_tc_d/int.key" -subj "/CN=certdesk test intermediate $$" \
		-out "$_tc_d/int.csr" 2>/dev/null || return 1
	printf 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$_tc_d/int.ext"
	openssl x509 -req -in "$_tc_d/int.csr" -CA "$_tc_d/root.pem" -CAkey "$_tc_d/root.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$_tc_d/int.ext" \
		-out "$_tc_d/int.pem" 2>/dev/null
}

testca_leaf() {
	_tc_d=$1 _tc_name=$2 _tc_out=$3 _tc_spec=${4:-ec} _tc_days=${5:-10}
	case $_tc_name in
	www.*) _tc_san="DNS:$_tc_name" ;;
	*) _tc_san="DNS:$_tc_name,DNS:www.$_tc_name" ;;
	esac
	_testca_key "$_tc_spec" "$_tc_out.key" || return 1
	openssl req -new -key "$_tc_out.key" -subj "/CN=$_tc_name" -out "$_tc_out.csr" 2>/dev/null || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:false\n' "$_tc_san" >"$_tc_out.ext"
	openssl x509 -req -in "$_tc_out.csr" -CA "$_tc_d/int.pem" -CAkey "$_tc_d/int.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days "$_tc_days" -extfile "$_tc_out.ext" \
		-out "$_tc_out.crt" 2>/dev/null || return 1
	cat "$_tc_out.crt" "$_tc_d/int.pem" >"$_tc_out.fullchain.pem"
	rm -f "$_tc_out.csr" "$_tc_out.ext"
}

cert_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr a-f A-F; }
cert_sha256() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr A-F a-f; }
