#!/bin/sh
# Bad inventory files: each gets a clear error naming the line or the field,
# and the store is exactly as before (nothing half-imported). --skip-bad
# imports the good rows and lists the skipped ones.
. "$(dirname "$0")/lib/tap.sh"

setup_inventory || { not_ok "import the sample inventory"; done_testing; exit 1; }

# The rows of every table: what "nothing changed" means.
snapshot() {
	for t in members servers sites ssl_settings installed certificates issuances events; do
		printf '%s ' "$t"
		sqlite3 "$DB" "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM $t"
	done
}

grep -v '^#' "$INV/bad/EXPECT" | while IFS='	' read -r file kind want; do
	[ -n "$file" ] || continue
	before=$(snapshot)
	if [ "$kind" = installed ]; then
		cmd="$CD import installed --server web01 $INV/bad/$file"
	else
		cmd="$CD import $kind $INV/bad/$file"
	fi
	if [ "$want" = "-" ]; then
		check "$file imports (valid)" $cmd
		continue
	fi
	fails "$file: a clear error ($want)" "$want" $cmd
	# the import event of a failed file must not exist either
	after=$(snapshot)
	if [ "$before" = "$after" ]; then ok "$file: nothing imported"
	else not_ok "$file: the store changed"; echo "$before" | sed 's/^/# before /'; echo "$after" | sed 's/^/# after /'; fi
done >"$WORK/results.tap"
# the loop ran in a subshell: replay its TAP with our own numbering
while read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) not_ok "${line#not ok * - }" ;;
	*) echo "$line" ;;
	esac
done <"$WORK/results.tap"

# a 50 MB line is refused without reading it into memory
big=$WORK/huge.csv
printf 'member_id,email,display_name,locale\n' >"$big"
head -c 52428800 /dev/zero | tr '\0' 'a' >>"$big"
printf ',x@example.jp,X,ja\n' >>"$big"
/usr/bin/time -o "$WORK/huge.rss" -f '%M' $CD import members "$big" >/dev/null 2>"$WORK/huge.err"
rss=$(tail -1 "$WORK/huge.rss")
check "a 50 MB line is a clear error" grep -q "longer than" "$WORK/huge.err"
check "and memory stays bounded (< 64 MB RSS, saw ${rss:-?} KB)" test "${rss:-999999}" -lt 65536

# --skip-bad imports the good rows and lists the bad ones
mix=$WORK/mixed.csv
printf 'member_id,email,display_name,locale\nm8001,a@example.jp,A,ja\nm8002,not-an-address,B,ja\nm8003,c@example.jp,C,en\n' >"$mix"
fails "a mixed file without --skip-bad imports nothing" "nothing imported" $CD import members "$mix"
check "m8001 was not imported" sh -c "! $CD status --member m8001 >/dev/null 2>&1"
$CD import members "$mix" --skip-bad >"$WORK/skip.out" 2>"$WORK/skip.err"
check "--skip-bad lists the skipped row" grep -q "mixed.csv:3: field 'email'.*(skipped)" "$WORK/skip.err"
check "--skip-bad imports the rest" grep -q "2 new or changed" "$WORK/skip.out"
check "m8003 was imported" $CD status --member m8003

# unknown kind, missing file, wrong format
fails "an unknown kind is named" "unknown kind 'people'" $CD import people "$mix"
fails "a missing file is named" "no-such.csv" $CD import members "$WORK/no-such.csv"
fails "an unknown extension asks for --format" "--format" $CD import members "$INV/g3.dn"

done_testing
