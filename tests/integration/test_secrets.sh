#!/bin/sh
# The master key and doctor: init makes a 0600 key and never overwrites it,
# doctor finds what is wrong (mode, missing key, typos, old schema), and
# --rotate-key leaves a key file that still works.
. "$(dirname "$0")/lib/tap.sh"

S=$WORK/s
new_store "$S"
check "init made the key with mode 0600" test "$(stat -c %a "$S/master.key")" = 600
check "the store is private too" test "$(stat -c %a "$S/certdesk.db")" = 600
fails "a second init refuses to overwrite the key" "never overwrites" $CD init
check "doctor is happy with a fresh setup" $CD doctor

chmod 0644 "$S/master.key"
fails "doctor flags a readable key file" "0644" $CD doctor
chmod 0600 "$S/master.key"

printf '[store]\nurl = sqlite:certdesk.db\nbusy_timeout = 5\n[secrets]\nmaster_key_file = master.key\n[colour]\nx = 1\n' >"$S/typo.ini"
$CERTDESK --config "$S/typo.ini" doctor >"$WORK/typo.out" 2>&1
check "doctor flags an unknown setting" grep -q "no setting 'busy_timeout'" "$WORK/typo.out"
check "doctor flags an unknown section" grep -q "unknown section \[colour\]" "$WORK/typo.out"

mkdir -p "$WORK/empty"
printf '[store]\nurl = sqlite:certdesk.db\n' >"$WORK/empty/certdesk.ini"
fails "doctor without a key or store says what to run" "certdesk init" $CERTDESK --config "$WORK/empty/certdesk.ini" doctor
fails "a command on an empty store asks for migrate" "certdesk migrate" $CERTDESK --config "$WORK/empty/certdesk.ini" status --member m1

cp "$S/master.key" "$WORK/key.before"
check "rotate the key" $CD init --rotate-key
check "the key file changed" sh -c "! cmp -s '$WORK/key.before' '$S/master.key'"
check "it keeps mode 0600" test "$(stat -c %a "$S/master.key")" = 600
check "doctor is happy after rotation" $CD doctor
check "doctor names the new key" sh -c "$CD doctor | grep -q 'key 2 active'"
printf '[store]\nurl = mysql://x\n' >"$WORK/bad-url.ini"
fails "a bad store url is explained" "not understood" $CERTDESK --config "$WORK/bad-url.ini" status --member x
fails "a missing config file is named" "nope.ini" $CERTDESK --config "$WORK/nope.ini" doctor
check "--help works for every command" sh -c "for c in init migrate doctor import campaign status reissue; do $CERTDESK \$c --help >/dev/null || exit 1; done"

done_testing
