#!/usr/bin/env python3
"""Summarize a growth series written by `bench/operator_kwok.py --series FILE` (one JSON line per sample).

    python3 bench/scale_series.py /tmp/podflow-scale-100000.jsonl [--every 600]

The 100,000-way podflow run and the Indexed Job at the same N, their totals side by side:

    python3 bench/operator_kwok.py --splits 100000 --repeat 1 --sample 60 --timeout 28800 --no-wait-delete \\
        --series /tmp/pf/scale-100000.jsonl
    python3 bench/cluster_compare.py --variant job --splits 100000 --parallelism 0 --repeat 1 --timeout 28800 \\
        --no-wait-delete --out /tmp/pf/cc-100000.jsonl --series /tmp/pf/scale-100000.jsonl
    python3 bench/scale_series.py /tmp/pf/scale-100000.jsonl --every 600

Prints one row per window (from one sample to the first that is at least --every seconds later): Tasks done at
its end, tasks/s in it, the operator's RSS, peak RSS and CPU per task done in it, the largest FlowRun
object so far, each cluster component's share of a core, the API server's RSS, and its writes per task done
in it, by kind. The last row covers the run's last samples; a series of fewer than two samples
(a run shorter than two sampling periods) has no row. A file that several runs appended to is
summarized for its last run. Samples without the components/API-server
fields (series written before they were recorded) show those columns empty.

Then one row per run's totals (the {"final": true} lines operator_kwok.py writes at the end of a
run and cluster_compare.py --series writes per run, e.g. the Job's): the system and its client
limits, N, total seconds, the controller's own requests per member (podflow-operator's, or for the
Job kube-controller-manager's client counter), the API server's requests per member, the
controller's peak RSS and CPU per member, the API server's CPU per member, etcd's growth per member
from the create to done (database bytes, bytes in use, bytes written, keys, revisions) and the objects the run's
namespace held in etcd at done. The windows also show etcd's database size and its growth per task
when the samples hold etcd's gauges.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_metrics import COMPONENTS  # noqa: E402

# The API server's writes of a podflow task's life (cluster_metrics.request_key names).
WRITES = ("POST tasks", "PUT tasks/status", "POST pods", "POST pods/binding", "PATCH pods/status",
          "DELETE pods", "POST events", "PATCH flowruns/status")


def load(path):
    rows = []
    try:
        f = open(path)
    except OSError as error:
        sys.exit(f"{path}: {error.strerror}; pass the file given to operator_kwok.py --series")
    with f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not a JSON line ({error}); a series is what operator_kwok.py --series writes")
            if not isinstance(row, dict) or not (row.get("final") or isinstance(row.get("seconds"), (int, float))):
                sys.exit(f"{path}:{number}: a sample without a number \"seconds\"; a series is what "
                         "operator_kwok.py --series writes")
            rows.append(row)
    return rows


def windows(rows, every):
    """The samples that start each window, and the last one."""
    picked = [rows[0]]
    for row in rows[1:]:
        if row["seconds"] - picked[-1]["seconds"] >= every:
            picked.append(row)
    if picked[-1] is not rows[-1]:
        picked.append(rows[-1])
    return picked


def done(row):
    return row.get("tasks", {}).get("succeeded", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series")
    parser.add_argument("--every", type=float, default=600, help="window length in seconds (default 600)")
    args = parser.parse_args()
    if args.every <= 0:
        sys.exit("--every must be a positive number of seconds")
    rows = load(args.series)
    finals = [row for row in rows if row.get("final")]
    rows = [row for row in rows if not row.get("final")]
    if not rows:
        print(f"# {args.series}: no growth sample")
        print_finals(finals)
        return
    # --series appends: a file written by several runs holds several series, each starting again
    # at a small "seconds". Summarize the last one.
    starts = [i for i in range(1, len(rows)) if rows[i]["seconds"] < rows[i - 1]["seconds"]]
    if starts:
        print(f"# {args.series} holds {len(starts) + 1} runs' series; the last one, from sample {starts[-1] + 1}:")
        rows = rows[starts[-1]:]
    if len(rows) < 2:
        # A run shorter than two sampling periods (a 1,000-way run at --sample 60): its numbers are
        # operator_kwok.py's own result; there is no growth to show.
        print(f"# {args.series}: {len(rows)} sample(s), no window to summarize"
              + (f"; the one at {rows[0]['seconds']:.0f} s: {rows[0].get('tasks')}" if rows else ""))
        print_finals(finals)
        return
    largest = 0
    header = (["until s", "done", "tasks/s", "RSS MiB", "peak MiB", "op ms/task", "FlowRun B"]
              + [f"{c} cores" for c in COMPONENTS] + ["apiserver RSS MiB"] + [f"{w}/task" for w in WRITES]
              + ["etcd DB MiB", "etcd DB B/task", "etcd keys"])
    print("\t".join(header))
    points = windows(rows, args.every)
    for before, after in zip(points, points[1:]):
        largest = max([largest] + [r.get("flowrun_bytes", 0) for r in rows
                                   if before["seconds"] <= r["seconds"] <= after["seconds"]])
        seconds = after["seconds"] - before["seconds"]
        if seconds <= 0:
            continue  # a repeated sample: no window
        finished = done(after) - done(before)

        def per_task(value, digits=2):
            return f"{value / finished:.{digits}f}" if finished > 0 else ""
        operator_ms = 1000 * (after.get("operator_cpu_s", 0) - before.get("operator_cpu_s", 0))
        cells = [f"{after['seconds']:.0f}", str(done(after)), f"{finished / seconds:.1f}",
                 f"{after.get('rss_mb', 0):.0f}", f"{after.get('peak_rss_mb', 0):.0f}",
                 per_task(operator_ms, 0), str(largest)]
        for component in COMPONENTS:
            a = after.get("components", {}).get(component)
            b = before.get("components", {}).get(component)
            cells.append(f"{(a['cpu_s'] - b['cpu_s']) / seconds:.2f}" if a and b else "")
        apiserver = after.get("components", {}).get("kube-apiserver")
        cells.append(f"{apiserver['rss_mb']:.0f}" if apiserver else "")
        for write in WRITES:
            a = after.get("apiserver_requests", {})
            b = before.get("apiserver_requests", {})
            cells.append(per_task(a.get(write, 0) - b.get(write, 0)) if a and b else "")
        db = "etcd_mvcc_db_total_size_in_bytes"
        ea, eb = after.get("etcd") or {}, before.get("etcd") or {}
        cells.append(f"{ea[db] / 2**20:.0f}" if db in ea else "")
        cells.append(per_task(ea[db] - eb[db], 0) if db in ea and db in eb else "")
        keys = ea.get("etcd_debugging_mvcc_keys_total")
        cells.append(f"{keys:.0f}" if keys is not None else "")
        print("\t".join(cells))
    last = rows[-1]
    print(f"# last sample at {last['seconds']:.0f} s: {last.get('tasks')}, peak RSS {last.get('peak_rss_mb')} MiB, "
          f"largest FlowRun object {max(r.get('flowrun_bytes', 0) for r in rows)} B")
    print_finals(finals)


def print_finals(finals):
    """One row per run's totals ({"final": true} lines), per member = / N."""
    if not finals:
        return
    print("\n# totals per run (per member = / N; etcd: growth from the create to done)")
    header = ["system (client limits)", "N", "ok", "seconds", "controller req/member", "API req/member",
              "controller peak RSS MiB", "controller CPU ms/member", "API server CPU ms/member",
              "etcd DB B/member", "etcd in-use B/member", "etcd written B/member", "etcd keys/member", "etcd revisions/member",
              "objects left"]
    print("\t".join(header))
    for r in finals:
        etcd = r.get("etcd") or {}

        def cell(value, digits=2):
            return "" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        print("\t".join([r.get("variant") or r.get("system", "?"), str(r.get("splits")), str(r.get("ok")),
                         cell(r.get("seconds"), 1), cell(r.get("controller_requests_per_member")),
                         cell(r.get("apiserver_requests_per_member")), cell(r.get("controller_peak_rss_mb"), 1),
                         cell(r.get("controller_cpu_ms_per_member")), cell(r.get("apiserver_cpu_ms_per_member")),
                         cell(etcd.get("db_bytes_per_member"), 0), cell(etcd.get("db_in_use_bytes_per_member"), 0),
                         cell(etcd.get("put_bytes_per_member"), 0),
                         cell(etcd.get("keys_per_member"), 1), cell(etcd.get("revisions_per_member"), 1),
                         cell(r.get("objects_left"))]))


if __name__ == "__main__":
    main()
