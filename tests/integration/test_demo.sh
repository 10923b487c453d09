#!/bin/sh
# test_demo.sh - `make demo` as a user runs it, once (DEMO_ONCE=1), against the
# certdesk already built ($CERTDESK; the demo builds and installs nothing then):
# it must exit 0, show the campaign, the API reissue and the operator's, every
# name serving a G4 certificate that verifies where G3's was served before, G3
# saying each old serial is revoked, one mail per order in the member's language,
# and leave no peer running.
. "$(dirname "$0")/lib/tap.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DD=$WORK/demo
OUT=$WORK/demo.out
case $CERTDESK in /*) ;; *) CERTDESK=$ROOT/$CERTDESK ;; esac

if DEMO_ONCE=1 DEMO_DIR=$DD CERTDESK=$CERTDESK timeout 600 sh "$ROOT/scripts/demo" >"$OUT" 2>&1; then
	ok "DEMO_ONCE=1 make demo exits 0"
else
	not_ok "DEMO_ONCE=1 make demo exits 0 (status $?)"
	tail -n 60 "$OUT" | sed 's/^/# /'
fi

# has NAME PATTERN [COUNT]: the output has COUNT (default: at least one) lines matching
has() {
	n=$(grep -cE -- "$2" "$OUT")
	if [ -n "${3:-}" ] && [ "$n" -ne "$3" ]; then not_ok "$1 ($n lines, want $3)"
	elif [ -z "${3:-}" ] && [ "$n" -eq 0 ]; then not_ok "$1 (not shown)"
	else ok "$1"; fi
}
has "the campaign counts 6 affected certificates" "campaign 'g3-revocation': 6 certificate\(s\) affected"
has "before: the members see Reissue (ja and en)" '^   [a-z]+\.example\.jp  (再発行|Reissue)$' 6
has "before: every name serves a G3 certificate" '^   [a-z.]+example\.jp +web0[12] +[0-9A-F]+ +G3 ' 12
has "the API creates an order (HTTP 201)" 'HTTP 201 \{"order_id":[0-9]+,"state":"queued","created":true\}' 1
has "the operator queues the other five" '^   order [0-9]+ queued for certificate c-' 5
has "every order is done" '^   [0-9]+ +c-[a-z]+ +done ' 6
has "after: every name serves a new G4 certificate that verifies" \
	'^   [a-z.]+example\.jp +[0-9A-F]+ +[0-9A-F]+ +G4 +G4 root, name ok +[0-9A-F]+ Revoked$' 12
has "the summary says every name moved to G4" 'Every name now serves a certificate from G4'
has "Japanese mails to m1" '^   Subject: .*再発行完了.*（(blog|shop|hotel)\.example\.jp）$' 4
has "English mails to m2" '^   Subject: .*has been reissued \((cafe|clinic|studio)\.example\.jp\)' 4
has "after: the members see Not needed (ja and en)" '^   [a-z]+\.example\.jp  (再発行不要|Not needed)$' 6
has "the result line" '== Result: 6 of 6 orders done' 1

# the served serials changed: before and after columns of the after table differ
same=$(awk '/G4 root, name ok/ && $2 == $3' "$OUT" | wc -l)
[ "$same" -eq 0 ] && ok "no name serves its old serial" || not_ok "$same names serve their old serial"

# nothing the demo started is left running (each peer's command line names its dir,
# challtestsrv its DNS port)
sleep 1
dns=$(sed -n 's/^ *DNS (challtestsrv) *//p' "$OUT")
left=$(ps -eo pid=,args= | grep -F -e "$DD" -e "-dns01 ${dns:-none} " | grep -v grep | wc -l)
[ "$left" -eq 0 ] && ok "every peer stopped on exit" ||
	{ not_ok "$left processes left running"; ps -eo pid=,args= | grep -F -e "$DD" | sed 's/^/# /'; }
done_testing
