#!/bin/sh
# test_metrics.sh - GET /metrics (issue 12, "Metrics"): a store with orders in several
# states made by a short real run (the CLI queues and cancels, `certdesk worker`
# takes two orders through preflight to a failure: one name not pointing at its
# server, one CA that does not answer), mail queued, delivered and failed for good
# against a real SMTP server; then the exposition passes `promtool check metrics`,
# its values match the store and `certdesk status`, and only [web] metrics_allow may
# read it (another source address, or one forwarded by a trusted proxy, gets 403;
# a setting that does not parse stops `certdesk serve` from starting).
. tests/integration/lib/tap.sh
. tests/integration/lib/pebble.sh
. tests/integration/lib/smtp.sh
. tests/browser/portal-env.sh

command -v promtool >/dev/null || { echo "Bail out! promtool (Debian package prometheus) is missing"; exit 1; }
portal_setup "$(printf 'metrics_allow = 127.0.0.1/32\ntrusted_proxies = 127.0.0.1')" ||
	{ echo "Bail out! portal setup failed"; exit 1; }
U=$PORTAL_URL
M=$WORK/metrics.txt
# metric 'NAME{labels}': its value in $M ("" when absent)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
scrape() { curl -s -o "$M" -w '%{http_code}' "$@" "$U/metrics"; }

# --- a short real run: orders in several states ----------------------------------------------
DEAD=$(free_port) # nothing listens there: the CA does not answer
smtp_start || { echo "Bail out! SMTP server"; exit 1; }
cat >>"$WORK/s/certdesk.ini" <<EOF
[ca test]
directory = http://127.0.0.1:$DEAD/dir
[acme]
http_retries = 0
[worker]
threads = 2
claim_interval_ms = 100
poll_ms = 200
backoff_base_ms = 100
backoff_cap_ms = 300
max_retries = 1
mail = no
$(smtp_ini)
retry_base_ms = 100
retry_cap_ms = 200
max_attempts = 1
EOF
cts_clear_a hanako.example.jp # 1005's name no longer points at its server
cts_clear_a www.hanako.example.jp
$CD orders cancel "$(sql "SELECT order_id FROM orders WHERE certificate_id = '1002'")" >/dev/null
$CD reissue --certificate 1001 >/dev/null && $CD reissue --certificate 1005 >/dev/null
check "the worker takes the open orders to an end" timeout 120 $CD worker --until-idle
check "1005 failed at preflight, 1001 at the CA" test \
	"$(sql "SELECT group_concat(certificate_id || ':' || failure, ' ') FROM (SELECT * FROM orders WHERE state = 'failed' ORDER BY certificate_id)")" \
	= "1001:ca_error 1005:dns_not_pointing"
$CD reissue --certificate 1002 >/dev/null # stays queued: no worker now
for i in 1 2; do $CD mail test --to "m$i@example.jp" --queue >/dev/null; done
check "two mails delivered" $CD mail deliver --once
smtp_stop
$CD mail test --to m3@example.jp --queue >/dev/null
$CD mail deliver --once >/dev/null 2>&1 # the server is gone: fails for good (max_attempts 1)
$CD mail test --to m4@example.jp --queue >/dev/null # pending

# --- the exposition -----------------------------------------------------------------------------
check "GET /metrics from 127.0.0.1 answers 200" test "$(scrape)" = 200
check "... as Prometheus text 0.0.4" sh -c "curl -s -D - -o /dev/null '$U/metrics' | grep -qi '^content-type: text/plain; version=0.0.4'"
check "promtool check metrics accepts it" sh -c "promtool check metrics <'$M'"

bad=""
for s in queued preflight key_ready ordered validating finalizing issued installed live notified \
	old_revoked done failed canceled; do
	[ "$(metric "certdesk_orders{state=\"$s\"}")" = "$(sql "SELECT COUNT(*) FROM orders WHERE state = '$s'")" ] ||
		bad="$bad $s"
done
check "orders by state match the store for every state (queued 1, failed 2, canceled 1)" \
	test -z "$bad" -a "$(metric 'certdesk_orders{state="queued"}')" = 1 \
	-a "$(metric 'certdesk_orders{state="failed"}')" = 2 -a "$(metric 'certdesk_orders{state="canceled"}')" = 1
failed_by_code() {
	for code in ca_error dns_not_pointing; do
		r=$(sql "SELECT CASE WHEN failure_retryable = 1 THEN 'true' ELSE 'false' END FROM orders WHERE failure = '$code'")
		echo "$code $r $(metric "certdesk_orders_failed{code=\"$code\",retryable=\"$r\"}")"
	done
}
check "failed orders by code and whether a retry can help, as the store says" \
	test "$(failed_by_code | awk '{ print $1, $3 }' | tr '\n' ' ')" = "ca_error 1 dns_not_pointing 1 "

left() { sql "SELECT COUNT(*) FROM events WHERE from_state = '$1' AND to_state <> '$1'"; }
check "time in queued: one observation per order that left it ($(left queued))" \
	test "$(metric 'certdesk_order_stage_seconds_count{stage="queued"}')" = "$(left queued)" \
	-a "$(metric 'certdesk_order_stage_seconds_bucket{stage="queued",le="+Inf"}')" = "$(left queued)"
check "time in preflight and key_ready observed too" \
	test "$(metric 'certdesk_order_stage_seconds_count{stage="preflight"}')" = "$(left preflight)" \
	-a "$(metric 'certdesk_order_stage_seconds_count{stage="key_ready"}')" = "$(left key_ready)" \
	-a "$(left preflight)" -ge 1
O1=$(sql "SELECT order_id FROM orders WHERE certificate_id = '1001' AND state = 'failed'")
ca_events=$(sql "SELECT COUNT(*) FROM events WHERE order_id = $O1 AND (kind = 'order.retry' OR to_state = 'failed')")
check "CA errors: each retry and the failure of 1001's order ($ca_events)" \
	test "$(metric 'certdesk_ca_errors_total{type="ca_error"}')" = "$ca_events" -a "$ca_events" -ge 2
check "problems by code include the DNS one" \
	test "$(metric 'certdesk_order_problems_total{code="dns_not_pointing"}')" = 1
check "mail: 2 sent, 1 failed for good, 1 pending, as the outbox says" \
	test "$(metric certdesk_mail_sent_total)" = "$(sql "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")" \
	-a "$(metric certdesk_mail_sent_total)" = 2 -a "$(metric certdesk_mail_failed)" = 1 \
	-a "$(metric 'certdesk_outbox_queue_depth{state="pending"}')" = 1 \
	-a "$(metric 'certdesk_mail_delivery_failures_total{outcome="final"}')" = 1
check "lease take-overs, nginx reloads and orphaned ACME orders are exposed (none in this run)" \
	sh -c "grep -qx 'certdesk_lease_takeovers_total 0' '$M' && grep -q '^# TYPE certdesk_nginx_reloads_total counter' '$M' &&
		grep -qx 'certdesk_acme_orphaned_orders 0' '$M'"

# campaign progress against what `certdesk status` says of each certificate
status_table "$INV" >"$WORK/status.tsv"
count() { awk -v s="$1" '$2 == s' "$WORK/status.tsv" | grep -c . || true; }
check "campaign g3: in progress as the status says ($(count in_progress))" \
	test "$(metric 'certdesk_campaign_certificates{campaign="g3",status="in_progress"}')" = "$(count in_progress)"
check "campaign g3: impossible as the status says ($(count impossible))" \
	test "$(metric 'certdesk_campaign_certificates{campaign="g3",status="impossible"}')" = "$(count impossible)"
check "campaign g3: available as the status says ($(count available))" \
	test "$(metric 'certdesk_campaign_certificates{campaign="g3",status="available"}')" = "$(count available)"
targets=$(sql "SELECT COUNT(*) FROM campaign_targets t JOIN issuances i USING (issuance_id) WHERE i.not_after > strftime('%s', 'now')")
check "campaign g3: affected = its targets still valid ($targets), none reissued yet" \
	test "$(metric 'certdesk_campaign_affected{campaign="g3"}')" = "$targets" \
	-a "$(metric 'certdesk_campaign_reissued{campaign="g3"}')" = 0
check "the portal's own counters are still there" grep -q '^certdesk_web_requests_total [1-9]' "$M"

# --- who may read it -----------------------------------------------------------------------------
check "from 127.0.0.2 (not in metrics_allow): 403, nothing exposed" \
	sh -c "test \"\$(curl -s -o '$WORK/r' -w '%{http_code}' --interface 127.0.0.2 '$U/metrics')\" = 403 &&
		! grep -q certdesk_ '$WORK/r'"
check "through the trusted proxy for 10.1.2.3: 403" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 10.1.2.3' "$U/metrics")" = 403
portal_serve "$WORK/s/s3.ini" "$(printf '[web]\nmetrics_allow = 10.0.0.0/8, 127.0.0.2/31')" ||
	{ echo "Bail out! second portal"; exit 1; }
U2=$SERVE_URL
code_from() { curl -s -o /dev/null -w '%{http_code}' --interface "$1" "$U2/metrics"; }
check "metrics_allow = 10.0.0.0/8, 127.0.0.2/31: 127.0.0.2 and .3 read it, .1 and .4 get 403" \
	test "$(code_from 127.0.0.2) $(code_from 127.0.0.3) $(code_from 127.0.0.1) $(code_from 127.0.0.4)" = \
	"200 200 403 403"
sed "s/^listen = .*/listen = 127.0.0.1:$(free_port)/" "$WORK/s/certdesk.ini" >"$WORK/s/s2.ini"
printf '[web]\nmetrics_allow = 127.0.0.1/33, ::1\n' >>"$WORK/s/s2.ini"
fails "serve refuses a broken metrics_allow, naming the entry" "'127.0.0.1/33' is not an address" \
	timeout 60 $CERTDESK --config "$WORK/s/s2.ini" serve
done_testing
