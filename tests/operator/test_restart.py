"""Restart safety of podflow-operator.

kill_restart: a 200-way foreach (splits of 1-2 s on the process node) while the operator is
SIGKILLed at random moments, at least 10 times, and started again each time. The run succeeds,
the join sees every split's result exactly once, and no task attempt ever had two pods: a watch
records every pod uid the API server had, and each (pod name, attempt) has one uid.

leader_failover: two replicas with --leader-elect on a Lease in the test namespace. The leader is
SIGKILLed mid-run (no Lease release); the other takes over after the Lease expires and the run
succeeds; never do both report podflow_leader 1; again one pod per task attempt.
"""
import random
import threading
import time

from operator_harness import OperatorTest, PodWatch, expect, flow_document, main

SPLITS = 200
# start writes [0..n-1]; each split sleeps 1.0-1.9 s and writes its item squared; the join checks
# that every index arrived exactly once and writes the sum; end prints it.
STEPS = """
- name: start
  command: [python3, -c, "import json, os; json.dump(list(range(int(os.environ['PODFLOW_PARAM_COUNT']))), open(os.environ['PODFLOW_OUTPUTS'] + '/items', 'w'))"]
  foreach: items
  next: [work]
- name: work
  command: [sh, -c, "sleep 1.$((PODFLOW_SPLIT_INDEX % 10)) && i=$(cat $PODFLOW_FOREACH_ITEM) && echo $((i * i)) > $PODFLOW_OUTPUTS/square"]
  next: [join]
- name: join
  join: true
  command: [python3, -c, "import os, sys; d = os.environ['PODFLOW_INPUTS']; parents = open(os.environ['PODFLOW_INPUT_TASKS']).read().split(); n = int(os.environ['PODFLOW_PARAM_COUNT']); squares = sorted(int(open(os.path.join(d, p, 'square')).read()) for p in parents); sys.exit('join: wrong squares') if squares != [i * i for i in range(n)] else open(os.environ['PODFLOW_OUTPUTS'] + '/total', 'w').write(str(sum(squares)))"]
  next: [end]
- name: end
  command: [sh, -c, "echo total=$(cat $PODFLOW_INPUTS/total)"]
"""
SPEC = """  parameters:
    - {name: count, type: integer, default: 10}
  defaults:
    resources: {cpu: "100m", memory: 64}
"""


def flow(name, splits, max_workers):
    return flow_document(name, STEPS, spec_extra=SPEC, run={
        "flowRef": {"name": name}, "maxWorkers": max_workers, "maxNumSplits": splits,
        "parameters": [{"name": "count", "value": str(splits)}]})


def phase(t, name):
    result = t.kubectl("get", "flowrun", name, "-o", "jsonpath={.status.phase}", check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def check_run(t, name, splits, watch):
    """The run's result and its pods: the end step's total, every Task succeeded in attempt 0,
    one pod uid per (task, attempt)."""
    run = t.wait_flowrun(name, "Succeeded", timeout=30)
    total = splits + 3
    expect(run["status"]["tasks"] == {"total": total, "pending": 0, "running": 0, "succeeded": total,
                                      "failed": 0}, f"task counts {run['status']['tasks']}")
    printed = t.kubectl("logs", f"{name}.end").stdout.strip()
    expected = sum(i * i for i in range(splits))
    expect(printed == f"total={expected}", f"the end step printed {printed!r}, expected total={expected}")
    tasks = t.items("tasks", selector=f"podflow.dev/run={name}")
    expect(len(tasks) == 4 and sum(task["status"]["succeeded"] for task in tasks) == total,
           f"{len(tasks)} Tasks (start, work, join, end expected) recording "
           f"{[task['status'].get('progress') for task in tasks]}, expected {total} members")
    retried = [(task["metadata"]["name"], task["status"]["retried"]) for task in tasks
               if task["status"].get("retried")]
    expect(not retried, f"Tasks that needed another attempt (no step failed, so none should): {retried}")
    watch.stop()
    print(f"     pod watch: {len(watch.pods)} pod uids, {watch.events} events, {watch.relists} lists"
          + (f", watch failures {watch.failures[:3]}" if watch.failures else ""))
    duplicates = watch.duplicates()
    expect(not duplicates, f"task attempts that had more than one pod: {duplicates}")
    names = {name_ for name_, _ in watch.by_attempt()}
    expect(len(names) == total, f"the watch saw pods of {len(names)} tasks, expected {total}")


def kill_restart():
    with OperatorTest("restart") as t:
        watch = PodWatch(t, "podflow.dev/run=restart")
        operator = t.start_operator()
        t.apply(flow("restart", SPLITS, 10))
        kills = 0
        started = time.monotonic()
        # Kill at random moments (including during the cache sync right after a start) until the
        # run ends; at least 10 times, or the test has not tested what it claims.
        while phase(t, "restart") not in ("Succeeded", "Failed"):
            expect(time.monotonic() - started < 480, f"the run did not end within 480 s ({kills} kills)")
            time.sleep(random.uniform(0.2, 3.0))
            operator.kill()
            kills += 1
            time.sleep(random.uniform(0.0, 1.0))
            operator.start()
        print(f"     {kills} SIGKILLs in {time.monotonic() - started:.0f}s")
        expect(kills >= 10, f"the run ended after only {kills} SIGKILLs; make it longer")
        check_run(t, "restart", SPLITS, watch)


def leading(operator):
    if not operator.alive():
        return 0
    try:
        return int(operator.metric("podflow_leader"))
    except OSError:
        return 0


def leader_failover():
    with OperatorTest("leader") as t:
        watch = PodWatch(t, "podflow.dev/run=leader")
        flags = ("--leader-elect", "--leader-election-namespace", t.ns)
        replicas = [t.start_operator(*flags, name="replica-a"), t.start_operator(*flags, name="replica-b")]
        both = []  # moments when both said they lead
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                states = [leading(r) for r in replicas]
                if sum(states) > 1:
                    both.append((time.monotonic(), states))
                stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            leader = t.wait_until("a leader", lambda: next((r for r in replicas if leading(r)), None), 60)
            standby = replicas[1 - replicas.index(leader)]
            expect(leading(standby) == 0, "both replicas lead")
            t.apply(flow("leader", 60, 8))
            t.wait_until("15 succeeded Tasks", lambda: t.flowrun("leader").get("status", {}).get(
                "tasks", {}).get("succeeded", 0) >= 15, 180)
            lease = t.get("lease", "podflow-operator")
            killed_holder = lease["spec"]["holderIdentity"]
            leader.kill()
            leader.expect_clean_exit = False  # SIGKILLed on purpose
            killed = time.monotonic()
            t.wait_until("the standby to take over", lambda: leading(standby) == 1, 90, interval=0.25)
            takeover = time.monotonic() - killed
            print(f"     the standby leads {takeover:.1f}s after the leader's SIGKILL")
            # The standby may take the Lease only when it has not changed for leaseDuration (15 s)
            # on its own clock; the leader renewed at most retryPeriod (2 s) before its death.
            expect(takeover > 10, f"the standby led {takeover:.1f}s after the kill: before the Lease expired")
            expect(takeover < 45, f"the standby needed {takeover:.1f}s to take over")
            lease = t.get("lease", "podflow-operator")
            expect(lease["spec"]["holderIdentity"] != killed_holder,
                   f"the Lease is still held by the dead leader {killed_holder}")
            t.wait_flowrun("leader", "Succeeded", timeout=300)
            expect(standby.alive(), "the new leader exited")
        finally:
            stop.set()
            sampler.join()
        expect(not both, f"both replicas reported podflow_leader 1 at once: {both[:5]}")
        check_run(t, "leader", 60, watch)


if __name__ == "__main__":
    main([kill_restart, leader_failover])
