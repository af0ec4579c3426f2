#!/bin/sh
# The branch example's steps in POSIX shell: artifacts are files, parameters are variables.
set -eu
case "$1" in
  start)
    echo "$PODFLOW_PARAM_GREETING" > "$PODFLOW_OUTPUTS/greeting"
    ;;
  left)
    echo "left saw: $(cat "$PODFLOW_INPUTS/greeting")" > "$PODFLOW_OUTPUTS/left"
    ;;
  right)
    echo "right saw: $(cat "$PODFLOW_INPUTS/greeting")" > "$PODFLOW_OUTPUTS/right"
    ;;
  join)
    # One inputs sub-directory per incoming task, named by task id.
    cat "$PODFLOW_INPUTS/left/left" "$PODFLOW_INPUTS/right/right" > "$PODFLOW_OUTPUTS/both"
    ;;
  end)
    cat "$PODFLOW_INPUTS/both"
    ;;
  *)
    echo "unknown step $1" >&2
    exit 2
    ;;
esac
