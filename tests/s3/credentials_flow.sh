# Sourced by the credentials_*.sh tests: write_flow FILE writes a three-step flow that runs for
# about 12 s (longer than the short-lived credentials the tests hand out) and passes an artifact
# along; check_flow_run URL names the checks on its result.
write_flow() {
  cat >"$1" <<'YAML'
apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata:
  name: keyless
spec:
  steps:
    - name: start
      command: [sh, -c, 'sleep 4; echo first > "$PODFLOW_OUTPUTS/word"']
      next: [middle]
    - name: middle
      command: [sh, -c, 'sleep 4; { cat "$PODFLOW_INPUTS/word"; echo second; } > "$PODFLOW_OUTPUTS/word"']
      next: [end]
    - name: end
      command: [sh, -c, 'sleep 4; cat "$PODFLOW_INPUTS/word"']
YAML
}
