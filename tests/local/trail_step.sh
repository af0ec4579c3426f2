# A step for the graph-shape tests: each task appends its id to the "trail" artifact it inherits,
# so the end step's trail shows which tasks ran and which artifacts reached whom.
#   sh trail_step.sh plain|fan|join
set -eu
kind="$1"
out="$PODFLOW_OUTPUTS"
me="$PODFLOW_TASK_ID"
if [ -n "${PODFLOW_FOREACH_ITEM:-}" ]; then
  me="$me=$(cat "$PODFLOW_FOREACH_ITEM")"
fi
case "$kind" in
  join)
    trails=""
    while read -r parent; do
      trails="$trails${trails:+ | }$(cat "$PODFLOW_INPUTS/$parent/trail")"
    done < "$PODFLOW_INPUT_TASKS"
    printf '[%s] %s' "$trails" "$me" > "$out/trail"
    ;;
  *)
    if [ -f "$PODFLOW_INPUTS/trail" ]; then
      printf '%s %s' "$(cat "$PODFLOW_INPUTS/trail")" "$me" > "$out/trail"
    else
      printf '%s' "$me" > "$out/trail"
    fi
    if [ "$kind" = fan ]; then
      printf '["a","b,c",{"d":[1,2]}]' > "$out/items"
    fi
    ;;
esac
if [ "$PODFLOW_STEP" = end ]; then
  cat "$out/trail"
  echo
fi
