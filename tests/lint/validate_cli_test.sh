#!/usr/bin/env bash
# Runs `podflow validate` on every corpus document and checks the exit code and the exact
# messages; then on files that only make sense on disk.
set -euo pipefail
podflow="$1"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cd invalid
for document in *.yaml *.json; do
  expected="${document%.*}.expected"
  set +e
  actual=$("$podflow" validate "$document" 2>&1 >/dev/null)
  status=$?
  set -e
  [ "$status" -eq 1 ] || fail "$document: exit code $status, expected 1"
  [ "$actual" == "$(cat "$expected")" ] || fail "$document: messages differ:
--- expected
$(cat "$expected")
--- actual
$actual"
done
cd ..

for document in valid/*; do
  "$podflow" validate "$document" >/dev/null 2>&1 || fail "$document: rejected a valid flow"
done
# Several files at once: one bad file fails the whole command, every message is printed.
set +e
out=$("$podflow" validate valid/linear.yaml invalid/cycle.yaml invalid/missing-start.yaml 2>&1)
status=$?
set -e
[ "$status" -eq 1 ] || fail "mixed files: exit $status"
grep -q "valid/linear.yaml: valid flow 'linear' (4 steps)" <<<"$out" || fail "mixed: no ok line"
grep -q "invalid/cycle.yaml:12:13: step 'a': the steps form a loop" <<<"$out" || fail "mixed: no cycle"
grep -q "invalid/missing-start.yaml: the flow has no step named 'start'" <<<"$out" || fail "mixed: no start"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' '#' > "$scratch/huge.yaml"
set +e
out=$("$podflow" validate "$scratch/huge.yaml" 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || fail "huge file: exit $status"
[ "$out" == "$scratch/huge.yaml: the document is 50.0 MiB; a flow document may be at most 4.0 MiB. Is this the right file? Keep data out of the flow: pass it as a parameter or produce it as an artifact" ] || fail "huge file: $out"

set +e
out=$("$podflow" validate "$scratch/missing.yaml" 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || fail "missing file: exit $status"
[ "$out" == "$scratch/missing.yaml: cannot read the file: No such file or directory" ] || fail "missing file: $out"

set +e
out=$("$podflow" validate "$scratch" 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || fail "directory: exit $status"
[ "$out" == "$scratch: is a directory; give the flow's YAML file, e.g. $scratch/flow.yaml" ] || fail "directory: $out"

set +e
"$podflow" validate >/dev/null 2>&1; status=$?
set -e
[ "$status" -eq 2 ] || fail "no arguments: exit $status, expected 2 (usage)"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "validate_cli: all checks passed"
