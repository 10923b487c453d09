#!/bin/sh
# Campaigns: the three ways to name the affected certificates agree, names
# compare as X.509 names do, dry runs change nothing, filters narrow, and bad
# options get clear errors.
. "$(dirname "$0")/lib/tap.sh"

setup_inventory || { not_ok "import the sample inventory"; done_testing; exit 1; }
G3=$(cat "$INV/g3.dn")
# the deadline the fixture's dates are made for (they are relative to today)
DL=$(cat "$INV/deadline.txt")
targets() { sqlite3 "$DB" "SELECT certificate_id FROM campaign_targets t JOIN campaigns c USING (campaign_id) WHERE c.name = '$1' ORDER BY 1" | tr '\n' ' '; }

$CD campaign create --name dry --issuer "$G3" --deadline "$DL" --dry-run >"$WORK/dry.out"
check "a dry run prints the counts by product" grep -q "jprs_dv_rs_1y" "$WORK/dry.out"
check "a dry run says it changed nothing" grep -q "nothing was changed" "$WORK/dry.out"
check "and it did not" test "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM campaigns')" = 0

check "campaign by issuer DN" $CD campaign create --name by-dn --issuer "$G3" --deadline "$DL"
# the same name typed differently: case and spaces do not matter to X.509 comparison
lower=$(echo "$G3" | tr 'A-Z' 'a-z' | sed 's/,/, /g')
check "campaign by the DN in lower case with spaces" $CD campaign create --name by-dn-lower --issuer "$lower" --deadline "$DL"
check "campaign by the issuing certificate" $CD campaign create --name by-cert --issuer-cert "$INV/g3.pem" --deadline "$DL"
check "campaign by the CA's serial list" $CD campaign create --name by-serial --serials "$INV/g3-serials.txt" --deadline "$DL"

a=$(targets by-dn)
check "the DN campaign found certificates" test -n "$a"
check "the lower-case DN matches the same certificates" test "$a" = "$(targets by-dn-lower)"
check "the issuing certificate matches the same certificates" test "$a" = "$(targets by-cert)"
check "the serial list matches the same certificates" test "$a" = "$(targets by-serial)"

check "a product filter narrows" $CD campaign create --name rs1y --issuer "$G3" --product jprs_dv_rs_1y --deadline "$DL"
check "only that product is targeted" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM campaign_targets t JOIN certificates c USING (certificate_id) JOIN campaigns p USING (campaign_id) WHERE p.name='rs1y' AND c.product <> 'jprs_dv_rs_1y'")" = 0
# four to five years from now, whatever today is
from=$(date -u -d '+4 years' +%Y-%m-%d)
to=$(date -u -d '+5 years' +%Y-%m-%d)
check "an issuance window in the future matches nothing" $CD campaign create --name future --issuer "$G3" --issued-from "$from" --issued-to "$to" --deadline "$to"
check "(no targets)" test -z "$(targets future)"

$CD campaign list >"$WORK/list.out"
check "campaign list shows them" grep -q "by-serial" "$WORK/list.out"
check "campaign show by name" $CD campaign show by-dn
check "campaign show by id" $CD campaign show 1

fails "a second campaign with the same name" "exists already" $CD campaign create --name by-dn --issuer "$G3" --deadline "$DL"
fails "two criteria at once" "exactly one" $CD campaign create --name x --issuer "$G3" --serials "$INV/g3-serials.txt" --deadline "$DL"
fails "no deadline" "--deadline" $CD campaign create --name x --issuer "$G3"
fails "a malformed DN names the problem" "--issuer" $CD campaign create --name x --issuer "CN=a,=b" --deadline "$DL"
fails "an unknown product" "unknown product" $CD campaign create --name x --issuer "$G3" --product ev --deadline "$DL"
fails "a bad date" "2026-02-30" $CD campaign create --name x --issuer "$G3" --deadline 2026-02-30
printf 'zz:top\n' >"$WORK/bad-serials.txt"
fails "a bad serial names the line" "bad-serials.txt:1" $CD campaign create --name x --serials "$WORK/bad-serials.txt" --deadline "$DL"
fails "a leaf is not an issuing certificate" "not a CA" $CD campaign create --name x --issuer-cert "$INV/certs/$(ls "$INV/certs" | head -1)" --deadline "$DL"
fails "campaign show of nothing" "no campaign" $CD campaign show nope

done_testing
