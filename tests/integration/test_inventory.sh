#!/bin/sh
# The sample inventory imported end to end: every status and reason as the
# fixture expects, in Japanese and English, re-import changes nothing, and the
# JSON Lines form imports the same rows.
. "$(dirname "$0")/lib/tap.sh"

check "import the sample inventory" setup_inventory
check "campaign over the G3 issuer" $CD campaign create --name g3 --issuer "$(cat "$INV/g3.dn")" --deadline "$(cat "$INV/deadline.txt")"

status_table "$INV" >"$WORK/got.tsv"
grep -v '^#' "$INV/expected-status.tsv" | sort >"$WORK/want.tsv"
check "every certificate has the expected status and reason" diff "$WORK/want.tsv" "$WORK/got.tsv"

for s in available not_needed impossible; do
	check "the fixture covers status $s" grep -q "	$s	" "$WORK/got.tsv"
done
for r in server_problem foreign_certificate_installed new_setting_exists csr_required; do
	check "the fixture covers reason $r" grep -q "	$r\$" "$WORK/got.tsv"
done

# every reason that applies is listed, not only the first
if [ -f "$INV/expected-reasons.tsv" ]; then
	all_status "$INV" | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    rs = sorted(r["reason"] for r in o["reasons"])
    print(o["certificate_id"], ",".join(rs) or "-", sep="\t")
' | sort >"$WORK/got-reasons.tsv"
	grep -v '^#' "$INV/expected-reasons.tsv" | python3 -c '
import sys
for line in sys.stdin:
    cid, rs = line.rstrip("\n").split("\t")[:2]
    print(cid, ",".join(sorted(rs.split(","))) if rs != "-" else "-", sep="\t")
' | sort >"$WORK/want-reasons.tsv"
	check "details list every reason that applies" diff "$WORK/want-reasons.tsv" "$WORK/got-reasons.tsv"
fi

$CD status --member m0001 >"$WORK/ja.txt"
check "Japanese labels by default (member locale ja)" grep -q "再発行不可" "$WORK/ja.txt"
check "Japanese reason text" grep -q "理由" "$WORK/ja.txt"
$CD status --member m0001 --lang en >"$WORK/en.txt"
check "English on request" grep -q "Not possible" "$WORK/en.txt"
check "English reason and what to do" grep -q "what to do" "$WORK/en.txt"
$CD status --member m0001 --json >"$WORK/m1.json"
check "--json has the contract's fields" python3 -c '
import json,sys
a = json.load(open(sys.argv[1]))
assert a, "empty"
for o in a:
    for k in ("certificate_id","common_name","product","status","reason"):
        assert k in o, k
    assert (o["reason"] is None) == (o["status"] != "impossible"), o
' "$WORK/m1.json"

# re-importing the same files changes nothing
for k in members servers sites settings certificates; do
	$CD import "$k" "$INV/$k.csv"
done >"$WORK/reimport.txt"
check "re-import reads every file" test "$(grep -c ' row(s) read' "$WORK/reimport.txt")" = 5
check "re-import reports no change" sh -c "! grep -v ' 0 new or changed' '$WORK/reimport.txt' | grep -q ."
for d in "$INV"/installed/*/; do
	$CD import installed --server "$(basename "$d")" "$d"
done >"$WORK/reinst.txt"
check "re-import of installed reports no change" sh -c "! grep -v '; 0 change(s)' '$WORK/reinst.txt' | grep -q ."
status_table "$INV" >"$WORK/got2.tsv"
check "statuses unchanged after re-import" diff "$WORK/got.tsv" "$WORK/got2.tsv"

if [ -f "$INV/members.jsonl" ]; then
	check "members as JSON Lines import" $CD import members "$INV/members.jsonl"
	check "the JSON Lines members are the same rows" sh -c "$CD import members '$INV/members.jsonl' | grep -q ' 0 new or changed'"
fi

# an operator reissue makes the certificate in progress; a second is refused
first_available=$(awk -F'\t' '$2=="available"{print $1; exit}' "$WORK/got.tsv")
check "operator reissue queues an order" $CD reissue --certificate "$first_available"
member=$(awk -F, -v c="$first_available" '$1==c{print $2}' "$INV/certificates.csv")
check "the certificate is now in progress" sh -c "$CD status --member $member --json | grep -q in_progress"
fails "a second open order is refused" "already has an open reissue order" $CD reissue --certificate "$first_available"

done_testing
