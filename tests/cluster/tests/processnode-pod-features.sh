#!/usr/bin/env bash
# What the process node gives a container: env, $(VAR) expansion, envFrom, valueFrom
# (secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef), workingDir, emptyDir shared
# between an init container and the main container, a secret volume, the termination message
# (at the pod's terminationMessagePath and via $PODFLOW_TERMINATION_MESSAGE_PATH),
# FallbackToLogsOnError, exit codes and reasons.
source "$(dirname "$0")/common.sh"
new_namespace
kubectl create secret generic creds -n "$NS" --from-literal=password=s3cr3t --from-literal=token=tok >/dev/null
kubectl create configmap settings -n "$NS" --from-literal=color=blue --from-literal=SIZE=10 >/dev/null
V=/var/tmp/podflow-cluster-test
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: features
  labels: {app: demo}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: secret-vol, secret: {secretName: creds}}
  initContainers:
  - name: init
    image: busybox
    command: [sh, -c, 'echo from-init > $V/scratch/init.txt']
    volumeMounts: [{name: scratch, mountPath: $V/scratch}]
  containers:
  - name: main
    image: busybox
    workingDir: $V/scratch/work
    command: [sh, -c]
    args:
    - |
      echo "PLAIN=\$PLAIN"; echo "EXPANDED=\$EXPANDED"; echo "PASSWORD=\$PASSWORD"; echo "COLOR=\$COLOR"
      echo "CM_SIZE=\$CM_SIZE"; echo "POD_NAME=\$POD_NAME"; echo "POD_NAMESPACE=\$POD_NAMESPACE"
      echo "POD_UID=\$POD_UID"; echo "NODE_NAME=\$NODE_NAME"; echo "POD_IP=\$POD_IP"; echo "APP=\$APP"
      echo "CPU_LIMIT=\$CPU_LIMIT"; echo "PWD=\$(pwd)"; echo "INIT=\$(cat $V/scratch/init.txt)"
      echo "SECRET_FILE=\$(cat $V/secret/token)"
      echo written > $V/scratch/main.txt
      printf 'result-ok' > /dev/termination-log
    env:
    - {name: PLAIN, value: plain}
    - {name: EXPANDED, value: "\$(PLAIN)-expanded"}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: COLOR
      valueFrom: {configMapKeyRef: {name: settings, key: color}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NAMESPACE
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: POD_UID
      valueFrom: {fieldRef: {fieldPath: metadata.uid}}
    - name: NODE_NAME
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: APP
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    - name: CPU_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.cpu}}
    envFrom:
    - prefix: CM_
      configMapRef: {name: settings}
    resources:
      limits: {cpu: "2", memory: 1Gi}
    volumeMounts:
    - {name: scratch, mountPath: $V/scratch}
    - {name: secret-vol, mountPath: $V/secret, readOnly: true}
  - name: custom-path
    image: busybox
    terminationMessagePath: /tmp/podflow-custom-termination
    command: [sh, -c, 'printf "via-env" > "\$PODFLOW_TERMINATION_MESSAGE_PATH"']
YAML
wait_phase features Succeeded 60
logs=$(kubectl logs -n "$NS" features -c main)
echo "$logs"
uid=$(kubectl get pod features -n "$NS" -o jsonpath='{.metadata.uid}')
node=$(kubectl get pod features -n "$NS" -o jsonpath='{.spec.nodeName}')
expect() { grep -qxF "$1" <<<"$logs" || fail "main container did not print '$1'"; }
expect PLAIN=plain
expect EXPANDED=plain-expanded
expect PASSWORD=s3cr3t
expect COLOR=blue
expect CM_SIZE=10
expect POD_NAME=features
expect "POD_NAMESPACE=$NS"
expect "POD_UID=$uid"
expect "NODE_NAME=$node"
expect POD_IP=127.0.0.1
expect APP=demo
expect CPU_LIMIT=2
expect INIT=from-init
expect SECRET_FILE=tok
grep -q "^PWD=.*scratch/work$" <<<"$logs" || fail "workingDir not honoured: $(grep PWD= <<<"$logs")"
msg=$(kubectl get pod features -n "$NS" -o jsonpath='{.status.containerStatuses[?(@.name=="main")].state.terminated.message}')
[ "$msg" = result-ok ] || fail "termination message of main is '$msg', want result-ok"
msg=$(kubectl get pod features -n "$NS" -o jsonpath='{.status.containerStatuses[?(@.name=="custom-path")].state.terminated.message}')
[ "$msg" = via-env ] || fail "termination message of custom-path is '$msg', want via-env"
conds=$(kubectl get pod features -n "$NS" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}')
for c in PodScheduled=True Initialized=True ContainersReady=False Ready=False; do
	[[ " $conds " == *" $c "* ]] || fail "conditions '$conds' lack $c"
done
[ "$(kubectl get pod features -n "$NS" -o jsonpath='{.status.podIP} {.status.hostIP}')" = "127.0.0.1 127.0.0.1" ] || fail "podIP/hostIP not 127.0.0.1"
for f in startTime 'containerStatuses[0].state.terminated.startedAt' 'containerStatuses[0].state.terminated.finishedAt'; do
	[ -n "$(kubectl get pod features -n "$NS" -o jsonpath="{.status.$f}")" ] || fail "status.$f is empty"
done
note "termination messages, env, volumes ok"

kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: fails}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - name: main
    image: busybox
    terminationMessagePolicy: FallbackToLogsOnError
    command: [sh, -c, 'echo boom; exit 3']
YAML
wait_phase fails Failed 60
got=$(kubectl get pod fails -n "$NS" -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}/{.status.containerStatuses[0].state.terminated.reason}/{.status.containerStatuses[0].state.terminated.message}')
[ "$got" = "3/Error/boom" ] || fail "failed container reported '$got', want 3/Error/boom"

kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  restartPolicy: Never
  nodeSelector: {type: process}
  containers:
  - {name: main, image: busybox, command: [podflow-no-such-program]}
YAML
wait_phase missing Failed 60
# restartPolicy OnFailure: the first run fails, the restart (same pod directory) succeeds
kubectl apply -n "$NS" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: retry}
spec:
  restartPolicy: OnFailure
  nodeSelector: {type: process}
  volumes: [{name: state, emptyDir: {}}]
  containers:
  - name: main
    image: busybox
    command: [sh, -c, 'if [ -f $V/state/once ]; then echo second; else touch $V/state/once; echo first; exit 1; fi']
    volumeMounts: [{name: state, mountPath: $V/state}]
YAML
wait_phase retry Succeeded 60
got=$(kubectl get pod retry -n "$NS" -o jsonpath='{.status.containerStatuses[0].restartCount}/{.status.containerStatuses[0].lastState.terminated.exitCode}')
[ "$got" = "1/1" ] || fail "OnFailure pod: restartCount/lastState exit code '$got', want 1/1"
echo "ok: env, valueFrom, envFrom, workingDir, emptyDir, secret volume, termination messages, exit codes, OnFailure restart"
