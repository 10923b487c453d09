#!/bin/sh
# test_portal_proxy.sh - the portal behind the provider's nginx TLS reverse proxy,
# with the server block the README shows (PROXY_CONF below: keep the two the same).
# `nginx -t` accepts it as written (only the certificate paths moved into the
# scratch directory); then, with its addresses moved to loopback ports, what a
# client on the internet sees through it: links and the cookie from base_url
# (__Host-, Secure, HSTS), an SSO header sent by the client dropped, a forged
# X-Forwarded-For replaced (throttling keys on the real address), /metrics hidden.
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/browser/portal-env.sh

PROXY_CONF=$(cat <<'CONF'
upstream certdesk_portal {
    server 127.0.0.1:8080;          # [web] listen
    keepalive 16;
}

server {
    listen 80;
    listen [::]:80;
    server_name portal.example.jp;
    return 301 https://portal.example.jp$request_uri;
}

server {
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name portal.example.jp;

    ssl_certificate     /etc/ssl/certdesk-portal/fullchain.pem;
    ssl_certificate_key /etc/ssl/certdesk-portal/privkey.pem;
    ssl_protocols TLSv1.2 TLSv1.3;

    # certdesk refuses bodies over [web] max_body_bytes (16 kB) itself
    client_max_body_size 16k;

    # certdesk answers /metrics to loopback and to its trusted proxies,
    # so this proxy must not pass it on to the internet
    location = /metrics { return 404; }

    location / {
        proxy_pass http://certdesk_portal;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        # replace, never append: what the client sent is not believed
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        # the SSO header comes only from the provider's gateway: a value the
        # client sent is dropped here (an empty value removes the header)
        proxy_set_header X-Certdesk-Member "";
    }
}
CONF
)

N=$WORK/nginx-proxy
mkdir -p "$N/logs" "$N/tmp" "$N/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=portal.example.jp" -addext "subjectAltName=DNS:portal.example.jp" \
	-keyout "$N/tls/privkey.pem" -out "$N/tls/fullchain.pem" >/dev/null 2>&1 ||
	{ echo "Bail out! no test certificate"; exit 1; }
main_conf() { # SITE_FILE
	cat <<CONF
pid $N/logs/nginx.pid;
error_log $N/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	include $1;
}
CONF
}
printf '%s\n' "$PROXY_CONF" | sed "s|/etc/ssl/certdesk-portal|$N/tls|" >"$N/as-written.conf"
main_conf "$N/as-written.conf" >"$N/check.conf"
check "nginx -t accepts the README's server block as written" \
	nginx -t -p "$N" -c "$N/check.conf" -e "$N/logs/error.log"

TP=$(free_port)
BASE=https://portal.example.jp:$TP
portal_setup "$(printf 'trusted_proxies = 127.0.0.1\nsso_header = X-Certdesk-Member\nbase_url = %s' "$BASE")" ||
	{ echo "Bail out! portal setup failed"; exit 1; }
printf '%s\n' "$PROXY_CONF" | sed -e "s|/etc/ssl/certdesk-portal|$N/tls|" \
	-e "s/127.0.0.1:8080/127.0.0.1:$PORTAL_PORT/" \
	-e "s/listen 80;/listen 127.0.0.1:$(free_port);/" \
	-e "s/listen 443 ssl http2;/listen 127.0.0.1:$TP ssl http2;/" -e '/listen \[::\]/d' >"$N/site.conf"
main_conf "$N/site.conf" >"$N/nginx.conf"
nginx -p "$N" -c "$N/nginx.conf" -e "$N/logs/error.log" || { echo "Bail out! nginx did not start"; exit 1; }
TAP_PIDS="$TAP_PIDS $(cat "$N/logs/nginx.pid")"
wait_port 127.0.0.1 "$TP" 20 || { echo "Bail out! nginx does not answer"; exit 1; }

H=$WORK/h
get() { # curl through the proxy as a client on the internet would; prints the status
	curl -s --resolve "portal.example.jp:$TP:127.0.0.1" --cacert "$N/tls/fullchain.pem" \
		-o "$WORK/b" -D "$H" -w '%{http_code}' "$@"
}
st=$(get -H 'X-Certdesk-Member: m0002' "$BASE/login")
check "an SSO header sent by the client is dropped by the proxy (login page $st, no session)" \
	sh -c "test '$st' = 200 && ! grep -qi '^set-cookie' '$H'"
check "https replies carry HSTS (from certdesk)" grep -qi '^strict-transport-security: max-age' "$H"
st=$(get -H "Origin: $BASE" --data-urlencode member_id=m0001 \
	--data-urlencode password=Yamada-Pass-2026 "$BASE/login")
check "login through the proxy: 303 to base_url's list with a __Host- Secure cookie ($st)" \
	sh -c "test '$st' = 303 && grep -qi '^location: $BASE/certificates' '$H' &&
		grep -qi '^set-cookie: __Host-certdesk_session=.*Secure' '$H'"
st=$(get "$BASE/metrics")
check "/metrics is not served through the proxy ($st)" test "$st" = 404
check "... while loopback still reads it" sh -c "curl -sf '$PORTAL_URL/metrics' | grep -q certdesk_web_"
for i in 1 2; do
	get -H 'X-Forwarded-For: 203.0.113.9' --data-urlencode member_id=m0006 \
		--data-urlencode password=wrong "$BASE/login" >/dev/null
done
check "a forged X-Forwarded-For is replaced: two failures counted for the real address, none for the forged" \
	test "$(sql "SELECT failures FROM login_throttle WHERE throttle_key = 'pair:m0006|127.0.0.1'")/$(sql "SELECT COUNT(*) FROM login_throttle WHERE throttle_key LIKE '%203.0.113.9%'")" = 2/0
# a chain of proxies (a CDN, then this nginx appending): the client is the right-most
# entry that is not a trusted proxy, whatever spaces separate the entries
for i in 1 2; do
	curl -s -o /dev/null -H 'X-Forwarded-For: 198.51.100.4, 203.0.113.7, 127.0.0.1' \
		--data-urlencode member_id=m0005 --data-urlencode password=wrong "$PORTAL_URL/login"
done
check "behind a chain of proxies, throttling keys on the first address no trusted proxy vouches for" \
	test "$(sql "SELECT failures FROM login_throttle WHERE throttle_key = 'pair:m0005|203.0.113.7'")" = 2
done_testing
