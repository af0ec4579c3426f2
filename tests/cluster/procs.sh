# shellcheck shell=bash
# Process helpers of the test cluster: start (own session/process group, recorded pid),
# bounded waits that print the component's log on failure, stop (TERM, then KILL).
# Needs $D, $LOGS, $PIDS from config.sh.

# The mark every process of this cluster carries in its environment; `down` finds
# stragglers (e.g. children of pods) by it.
cluster_mark() { echo "podflow-cluster:$D"; }

# start_component NAME CMD...: runs CMD in its own session (pid = pgid), logs to $LOGS/NAME.log,
# records the pid in $PIDS/NAME and the command in $D/cmd/NAME (for restarts).
start_component() {
	local name=$1
	shift
	mkdir -p "$D/cmd" "$LOGS" "$PIDS"
	printf '%q ' "$@" >"$D/cmd/$name"
	launch "$name"
}

# launch NAME: (re)starts the recorded command of NAME
launch() {
	local name=$1
	[ -f "$D/cmd/$name" ] || die "$name: no recorded command in $D/cmd/$name (was the cluster started with tests/cluster/up?)"
	echo "=== start $(date -u +%FT%TZ)" >>"$LOGS/$name.log"
	PODFLOW_CLUSTER_MARK=$(cluster_mark) setsid bash -c "exec $(cat "$D/cmd/$name")" </dev/null >>"$LOGS/$name.log" 2>&1 &
	echo $! >"$PIDS/$name"
}

alive() { # alive NAME
	local pid
	pid=$(cat "$PIDS/$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

show_log() { # show_log NAME [LINES]
	echo "---- last lines of $LOGS/$1.log ----" >&2
	tail -n "${2:-30}" "$LOGS/$1.log" 2>/dev/null | sed "s/^/  $1| /" >&2 || true
	echo "----" >&2
}

# wait_for NAME TIMEOUT CMD...: polls CMD until it succeeds; fails (log tail) when NAME dies or on timeout
wait_for() {
	local name=$1 timeout=$2
	shift 2
	local end=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		if [ -f "$PIDS/$name" ] && ! alive "$name"; then
			echo "error: $name exited during startup" >&2
			show_log "$name"
			return 1
		fi
		if [ $SECONDS -ge $end ]; then
			echo "error: $name not ready after ${timeout}s (waiting for: $*)" >&2
			show_log "$name"
			return 1
		fi
		sleep 0.2
	done
}

# stop_component NAME [GRACE]: TERM the process group, KILL after GRACE seconds (default 10)
stop_component() {
	local name=$1 grace=${2:-10} pid
	pid=$(cat "$PIDS/$name" 2>/dev/null) || return 0
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		local end=$((SECONDS + grace))
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
		local end2=$((SECONDS + 5))
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end2 ]; do sleep 0.1; done
	fi
	# the group may outlive its leader
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$PIDS/$name"
}

port_busy() { # port_busy PORT: something listens on 127.0.0.1:PORT (or any address)
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# pids of processes carrying this cluster's mark (excluding this shell)
marked_pids() {
	local mark
	mark="PODFLOW_CLUSTER_MARK=$(cluster_mark)"
	grep -lzxsF "$mark" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | grep -vx -e "$$" -e "$BASHPID" || true
}
