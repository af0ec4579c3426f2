#!/usr/bin/env bash
# Every Flow the linter accepts (tests/lint/valid/*) is accepted by the API server, and every
# example file (a Flow and its FlowRun) applies: kubectl apply --dry-run=server.
source "$(dirname "$0")/lib.sh"
install_crds
new_namespace
count=0
for file in "$REPO"/tests/lint/valid/*.yaml "$REPO"/tests/lint/valid/*.json "$REPO"/examples/*/flow.yaml; do
	[ -f "$file" ] || continue
	apply_dry_run "$file"
	[ "$RC" = 0 ] || fail "${file#"$REPO"/}: the API server rejected it:
$OUT"
	grep -q '^flow.podflow.dev/.* created (server dry run)$' <<<"$OUT" || fail "${file#"$REPO"/}: no Flow created: $OUT"
	case "$file" in
	*/examples/*)
		grep -q '^flowrun.podflow.dev/.* created (server dry run)$' <<<"$OUT" ||
			fail "${file#"$REPO"/}: no FlowRun created: $OUT"
		;;
	esac
	count=$((count + 1))
done
[ "$count" -ge 13 ] || fail "only $count files"
echo "ok: $count valid flows and examples accepted by the API server"
