#!/usr/bin/env bash
# What the API server does with every document the linter rejects (tests/lint/invalid/*): each is
# listed in invalid-corpus.expected as rejected (by the schema or a CEL rule, and the message must
# contain the given text, which names the field), accepted (a graph rule only the operator's linter
# checks; it sets Valid=False) or unreadable (kubectl cannot read or map the file, so it never
# reaches the API server). The test fails when reality differs from the file, in either direction.
source "$(dirname "$0")/lib.sh"
install_crds
new_namespace
EXPECTED="$(dirname "$0")/invalid-corpus.expected"
declare -A verdict text
while read -r name what rest; do
	case "$name" in '' | '#'*) continue ;; esac
	verdict[$name]=$what
	text[$name]=$rest
done <"$EXPECTED"
failures=0
problem() {
	echo "MISMATCH $1" >&2
	failures=$((failures + 1))
}
seen=0
for file in "$REPO"/tests/lint/invalid/*.yaml "$REPO"/tests/lint/invalid/*.json; do
	[ -f "$file" ] || continue
	name=$(basename "$file")
	seen=$((seen + 1))
	if [ -z "${verdict[$name]:-}" ]; then
		problem "$name: not listed in invalid-corpus.expected"
		continue
	fi
	apply_dry_run "$file"
	from_server=no
	if grep -q -e ' is invalid' -e '^Error from server' <<<"$OUT"; then from_server=yes; fi
	case "${verdict[$name]}" in
	accepted)
		[ "$RC" = 0 ] || problem "$name: expected accepted, got exit $RC: $OUT"
		;;
	rejected)
		[ "$RC" != 0 ] && [ $from_server = yes ] || problem "$name: expected the API server to reject it, got exit $RC: $OUT"
		;;
	unreadable)
		[ "$RC" != 0 ] && [ $from_server = no ] || problem "$name: expected kubectl to fail before the API server, got exit $RC: $OUT"
		;;
	*) problem "$name: unknown verdict ${verdict[$name]}" ;;
	esac
	if [ "${verdict[$name]}" != accepted ] && ! grep -qF -- "${text[$name]}" <<<"$OUT"; then
		problem "$name: the message does not contain '${text[$name]}': $OUT"
	fi
	echo "$name: ${verdict[$name]}"
done
for name in "${!verdict[@]}"; do
	[ -f "$REPO/tests/lint/invalid/$name" ] || problem "$name is listed in invalid-corpus.expected but not in tests/lint/invalid"
done
[ "$seen" -ge 40 ] || problem "only $seen invalid documents found"
[ "$failures" = 0 ] || fail "$failures documents differ from invalid-corpus.expected"
echo "ok: $seen invalid documents behave as invalid-corpus.expected says"
