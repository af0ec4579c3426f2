"""kube-apiserver restarted (down for a few seconds) in the middle of a run: the operator does not
exit, its watches reconnect, it goes on creating pods after the restart, and the run
succeeds with the right result and one pod per task attempt.

Disturbs every user of the cluster: a SERIAL ctest (tests/operator/CMakeLists.txt)."""
import calendar
import os
import subprocess
import time
import urllib.request

from operator_harness import SOURCE, OperatorTest, PodWatch, apiserver_port, expect, main
from test_restart import check_run, flow

SPLITS = 40
DOWN_SECONDS = 5


def restart_apiserver(t):
    env = dict(t.env, PODFLOW_APISERVER_PORT=apiserver_port(t.env))
    result = subprocess.run([os.path.join(SOURCE, "tests", "cluster", "restart-apiserver"), str(DOWN_SECONDS)],
                            capture_output=True, text=True, env=env, timeout=180)
    expect(result.returncode == 0, f"tests/cluster/restart-apiserver failed:\n{result.stdout}{result.stderr}")


def succeeded(t, name):
    return t.flowrun(name).get("status", {}).get("tasks", {}).get("succeeded", 0)


def apiserver_restart():
    with OperatorTest("apiserver") as t:
        watch = PodWatch(t, "podflow.dev/run=apiserver")
        operator = t.start_operator()
        t.apply(flow("apiserver", SPLITS, 4))
        t.wait_until("8 succeeded tasks", lambda: succeeded(t, "apiserver") >= 8, 180)
        before = succeeded(t, "apiserver")
        requests_before = operator.metric("podflow_kube_requests_total")
        started = time.monotonic()
        restart_apiserver(t)
        restarted = time.time()
        print(f"     kube-apiserver restarted in {time.monotonic() - started:.1f}s, "
              f"{before} of {SPLITS + 3} tasks had succeeded")
        expect(operator.alive(), f"the operator exited during the API server restart:\n{operator.log_tail()}")
        run = t.wait_flowrun("apiserver", "Succeeded", timeout=240)
        expect(operator.alive(), f"the operator exited after the API server restart:\n{operator.log_tail()}")
        # It kept working after the restart: pods were created and finished after it.
        later = [pod for pod in t.items("pods", selector="podflow.dev/run=apiserver")
                 if calendar.timegm(time.strptime(pod["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
                 >= restarted - 1]
        expect(len(later) >= 5, f"only {len(later)} pods were created after the API server restart "
                                f"(run status {run['status']['tasks']})")
        expect(operator.metric("podflow_kube_requests_total") > requests_before, "no API requests after the restart")
        with urllib.request.urlopen(f"http://127.0.0.1:{operator.probe_port}/readyz", timeout=10) as r:
            expect(r.status == 200, f"/readyz answered {r.status} after the restart")
        check_run(t, "apiserver", SPLITS, watch)


if __name__ == "__main__":
    main([apiserver_restart])
