"""Tenancy (issue 18, docs/operations.md "Security model"): whoever writes a Flow or creates a
FlowRun gets no more through the operator than by creating the pods themselves. Users are the
admin's impersonations (`kubectl --as alice --as-group tenancy-users`), so the admission policies'
`authorizer` and the operator's SubjectAccessReviews see real users with real RBAC:

- alice: a tenant with the ordinary rights of a podflow user in her namespace (Flows, FlowRuns,
  pods, `get` on Secret shared-config only, no ServiceAccount, no node placement);
- bob: may create FlowRuns but not pods.

The policies are the chart's own (operator_harness.admission_policies: helm template), so this
proves what an install gets. Each escalation is refused with a message naming the problem and
the fix; bigsum by alice still runs.
"""
import json
import time

from operator_harness import (OperatorTest, POLICY_RELEASE, TestFailure, expect, flow_document, main)

GROUP = "tenancy-users"
SIMPLE = '- name: start\n  command: ["true"]\n  next: [end]\n- name: end\n  command: ["true"]\n'
PLACEMENT_ROLE = f"{POLICY_RELEASE[0]}-{POLICY_RELEASE[1]}-node-placement"


def user_role(namespace):
    return f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: podflow-user, namespace: {namespace}}}
rules:
  - apiGroups: [podflow.dev]
    resources: [flows, flowruns]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [podflow.dev]
    resources: [tasks]
    verbs: [get, list, watch]
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch, create, delete]
  - apiGroups: [""]
    resources: [pods/log]
    verbs: [get]
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [shared-config]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: alice, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: podflow-user}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: flowruns-only, namespace: {namespace}}}
rules:
  - apiGroups: [podflow.dev]
    resources: [flows, flowruns]
    verbs: [get, list, watch, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: bob, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: flowruns-only}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}}]
"""


def setup(t, namespace=None):
    """alice's and bob's rights, Secrets db and shared-config, ServiceAccount trainer."""
    namespace = namespace or t.ns
    t.kubectl("apply", "-f", "-", input=user_role(namespace), namespaced=False)
    for secret in ("db", "shared-config"):
        t.kubectl("-n", namespace, "create", "secret", "generic", secret, "--from-literal=TOKEN=x",
                  namespaced=False)
    t.kubectl("-n", namespace, "create", "serviceaccount", "trainer", namespaced=False)


def as_user(t, user, *args, input=None, namespace=None):
    groups = ["--as-group", GROUP] if user == "alice" else []
    return t.kubectl("-n", namespace or t.ns, "--as", user, *groups, *args, input=input, check=False,
                     namespaced=False)


def refused(result, *words):
    """The API server refused the request, and its message has every one of `words`."""
    text = result.stderr + result.stdout
    expect(result.returncode != 0, f"accepted, but should have been refused: {text}")
    for word in words:
        expect(word in text, f"the refusal does not say {word!r}: {text}")


def accepted(result):
    expect(result.returncode == 0, f"refused: {result.stderr}{result.stdout}")


def step_with(setting):
    """start (with one YAML setting line) -> end."""
    return f'- name: start\n  command: ["true"]\n  {setting}\n  next: [end]\n- name: end\n  command: ["true"]\n'


def flowrun(name, spec):
    return json.dumps({"apiVersion": "podflow.dev/v1alpha1", "kind": "FlowRun", "metadata": {"name": name},
                       "spec": spec})


def wait_refused_by_operator(t, name, reason, *words, timeout=60):
    """The operator refused the run: Failed, Valid=False with `reason`, every word in the message,
    and a Warning Event with the same reason."""
    run = t.wait_flowrun(name, "Failed", timeout=timeout)
    valid = t.condition(run, "Valid")
    expect(valid and valid["status"] == "False" and valid["reason"] == reason,
           f"want Valid=False reason {reason}: {json.dumps(run['status'].get('conditions'), indent=1)}")
    for word in words:
        expect(word in valid["message"], f"the message does not say {word!r}: {valid['message']}")
    events = t.wait_until(f"a {reason} Event", lambda: [
        e for e in t.items("events") if e.get("reason") == reason and e["involvedObject"]["name"] == name], 30)
    expect(events[0]["type"] == "Warning", f"want a Warning Event: {events[0]}")
    expect(not t.items("tasks", selector=f"podflow.dev/run={name}"), "a refused run created Tasks")
    return valid["message"]


def test_ordinary_user_runs_bigsum():
    with OperatorTest("ten-bigsum") as t:
        setup(t)
        t.start_operator()
        accepted(as_user(t, "alice", "apply", "-f", "examples/bigsum/flow.yaml"))
        run = t.wait_flowrun("bigsum", "Succeeded", timeout=240)
        annotations = run["metadata"]["annotations"]
        expect(annotations.get("podflow.dev/created-by") == "alice", f"author: {annotations}")
        expect(GROUP in annotations.get("podflow.dev/created-by-groups", "").split(","), f"groups: {annotations}")


def test_secrets():
    with OperatorTest("ten-secrets") as t:
        setup(t)
        t.start_operator()
        # in a Flow alice writes, an inline spec, run-wide overrides: refused at admission
        refused(as_user(t, "alice", "apply", "-f", "-", input=flow_document("reads-db", step_with("secrets: [db]"))),
                "Secret db, which alice may not get", "ask for `get`")
        accepted(as_user(t, "alice", "apply", "-f", "-",
                         input=flow_document("reads-shared", step_with("secrets: [shared-config]"))))
        inline = {"flow": {"steps": [{"name": "start", "command": ["true"], "secrets": ["db"], "next": ["end"]},
                                     {"name": "end", "command": ["true"]}]}}
        refused(as_user(t, "alice", "create", "-f", "-", input=flowrun("inline", inline)), "alice may not get", "db")
        refused(as_user(t, "alice", "create", "-f", "-",
                        input=flowrun("override", {"flowRef": {"name": "reads-shared"},
                                                   "overrides": {"secrets": ["db"]}})),
                "alice may not get", "db")
        # a Flow the admin wrote: alice may create the FlowRun, the operator refuses to run it
        t.apply(flow_document("admin-db", step_with("secrets: [db]")))
        accepted(as_user(t, "alice", "create", "-f", "-", input=flowrun("alice-db", {"flowRef": {"name": "admin-db"}})))
        wait_refused_by_operator(t, "alice-db", "Forbidden", "Secret db", "alice may not get secrets/db",
                                 "create the FlowRun again")
        # admission checks the first 12 Secrets of a flow (the CEL budget); the 13th is the
        # operator's to refuse
        names = [f"a{i}" for i in range(12)]
        t.kubectl("create", "role", "read-a", "--verb=get", "--resource=secrets", *[f"--resource-name={n}" for n in names])
        t.kubectl("create", "rolebinding", "alice-read-a", "--role=read-a", "--user=alice")
        many = flow_document("many", step_with(f"secrets: [{', '.join(names)}, db]"))
        t.wait_until("alice's Flow of 13 Secrets to pass admission",
                     lambda: as_user(t, "alice", "apply", "-f", "-", input=many).returncode == 0, 30)
        accepted(as_user(t, "alice", "create", "-f", "-", input=flowrun("many", {"flowRef": {"name": "many"}})))
        message = wait_refused_by_operator(t, "many", "Forbidden", "alice may not get secrets/db")
        expect("secrets/a0" not in message, f"a Secret alice may read is reported: {message}")
        # the admin may run it; alice may run the flow whose Secret she may read
        t.kubectl("create", "-f", "-", input=flowrun("admin-db", {"flowRef": {"name": "admin-db"}}))
        accepted(as_user(t, "alice", "create", "-f", "-",
                         input=flowrun("reads-shared", {"flowRef": {"name": "reads-shared"}})))
        t.wait_flowrun("admin-db", "Succeeded", timeout=120)
        t.wait_flowrun("reads-shared", "Succeeded", timeout=120)


def test_service_account():
    with OperatorTest("ten-sa") as t:
        setup(t)
        t.start_operator()
        refused(as_user(t, "alice", "apply", "-f", "-",
                        input=flow_document("as-trainer", step_with("serviceAccount: trainer"))),
                "may not", "impersonate", "trainer")
        t.apply(flow_document("admin-trainer", step_with("serviceAccount: trainer")))
        accepted(as_user(t, "alice", "create", "-f", "-",
                         input=flowrun("alice-trainer", {"flowRef": {"name": "admin-trainer"}})))
        wait_refused_by_operator(t, "alice-trainer", "Forbidden", "ServiceAccount trainer",
                                 "impersonate serviceaccounts/trainer")
        # granted `impersonate` on that one account, alice may use it
        t.kubectl("create", "role", "use-trainer", "--verb=impersonate", "--resource=serviceaccounts",
                  "--resource-name=trainer")
        t.kubectl("create", "rolebinding", "alice-trainer", "--role=use-trainer", "--user=alice")
        t.wait_until("alice's grant", lambda: as_user(
            t, "alice", "auth", "can-i", "impersonate", "serviceaccounts/trainer").returncode == 0, 30)
        accepted(as_user(t, "alice", "create", "-f", "-",
                         input=flowrun("alice-trainer-2", {"flowRef": {"name": "admin-trainer"}})))
        t.wait_flowrun("alice-trainer-2", "Succeeded", timeout=120)


def test_placement():
    with OperatorTest("ten-place") as t:
        setup(t)
        t.start_operator()
        # a priority class is placement too: it decides whom the step's pods may preempt
        for name, setting in (("selects", "nodeSelector: {pool: gpu}"),
                              ("tolerates", "tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]"),
                              ("preempts", "priorityClassName: urgent")):
            refused(as_user(t, "alice", "apply", "-f", "-", input=flow_document(name, step_with(setting))),
                    "nodeSelector, tolerations or a priorityClassName", "nodeplacements.podflow.dev",
                    PLACEMENT_ROLE)
        refused(as_user(t, "alice", "create", "-f", "-",
                        input=flowrun("override", {"flow": {"steps": [{"name": "start", "command": ["true"], "next": ["end"]},
                                                                      {"name": "end", "command": ["true"]}]},
                                                   "overrides": {"nodeSelector": {"pool": "gpu"}}})),
                "nodeplacements.podflow.dev")
        t.apply(flow_document("admin-placed", step_with(
            "tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]")))
        accepted(as_user(t, "alice", "create", "-f", "-",
                         input=flowrun("alice-placed", {"flowRef": {"name": "admin-placed"}})))
        wait_refused_by_operator(t, "alice-placed", "Forbidden", "nodeSelector, tolerations or a priorityClassName",
                                 "use nodeplacements.podflow.dev")
        # the admin binds the chart's ClusterRole: alice may place her steps
        t.kubectl("create", "rolebinding", "alice-placement", f"--clusterrole={PLACEMENT_ROLE}", "--user=alice")
        # (kubectl auth can-i cannot ask about a resource the API server does not serve: the new
        # RoleBinding shows in the first apply it lets through, within a moment)
        t.wait_until("alice's placement grant to let her Flow through", lambda: as_user(
            t, "alice", "apply", "-f", "-", input=flow_document(
                "tolerates", step_with("tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]"))
        ).returncode == 0, 30)
        accepted(as_user(t, "alice", "create", "-f", "-",
                         input=flowrun("alice-placed-2", {"flowRef": {"name": "admin-placed"}})))
        t.wait_flowrun("alice-placed-2", "Succeeded", timeout=120)


def test_author_cannot_be_forged():
    with OperatorTest("ten-author") as t:
        setup(t)
        t.apply(flow_document("simple", SIMPLE))
        forged = json.dumps({"apiVersion": "podflow.dev/v1alpha1", "kind": "FlowRun",
                             "metadata": {"name": "forged", "annotations": {
                                 "podflow.dev/created-by": "admin", "podflow.dev/created-by-groups": "system:masters"}},
                             "spec": {"flowRef": {"name": "simple"}}})
        accepted(as_user(t, "alice", "create", "-f", "-", input=forged))
        annotations = t.get("flowrun", "forged")["metadata"]["annotations"]
        expect(annotations["podflow.dev/created-by"] == "alice", f"the creator was not recorded: {annotations}")
        expect("system:masters" not in annotations["podflow.dev/created-by-groups"], f"forged groups: {annotations}")
        refused(as_user(t, "alice", "annotate", "--overwrite", "flowrun", "forged", "podflow.dev/created-by=admin"),
                "cannot change")
        refused(as_user(t, "bob", "create", "-f", "-", input=flowrun("bobs", {"flowRef": {"name": "simple"}})),
                "bob may not create pods", "RoleBinding")
        # nobody changes a recorded author, the admin included
        t.kubectl("create", "-f", "-", input=flowrun("admins", {"flowRef": {"name": "simple"}}))
        refused(t.kubectl("annotate", "flowrun", "admins", "podflow.dev/created-by-", check=False), "cannot change")


def test_tasks_are_the_operators():
    """A Task becomes a pod with its Secrets and ServiceAccount: a user granted `create` on Tasks
    still cannot make one (only who may `operate` them: the operator)."""
    with OperatorTest("ten-tasks") as t:
        setup(t)
        t.start_operator()
        t.apply(flow_document("simple", SIMPLE, run={}))
        t.wait_flowrun("simple", "Succeeded", timeout=120)
        task = t.get("task", "simple.start")
        forged = {"apiVersion": task["apiVersion"], "kind": "Task",
                  "metadata": {"name": "forged.start", "labels": task["metadata"]["labels"]},
                  "spec": dict(task["spec"], secrets=["db"], serviceAccount="trainer")}
        t.kubectl("create", "role", "write-tasks", "--verb=create", "--resource=tasks.podflow.dev")
        t.kubectl("create", "rolebinding", "alice-tasks", "--role=write-tasks", "--user=alice")
        refused(as_user(t, "alice", "create", "-f", "-", input=json.dumps(forged)),
                "created by the podflow operator only", "alice may not operate", "create a FlowRun instead")
        expect(not t.find("pod", "forged.start"), "a pod of the forged Task exists")


def test_operator_namespace():
    with OperatorTest("ten-own") as t:
        t.apply(flow_document("simple", SIMPLE, run={}))
        t.start_operator("--operator-namespace", t.ns)
        wait_refused_by_operator(t, "simple", "OperatorNamespace", "operator's own", "--allow-operator-namespace")
        expect(t.operators[0].stop() == 0, "the operator did not stop cleanly")
        t.start_operator("--operator-namespace", t.ns, "--allow-operator-namespace")
        t.kubectl("create", "-f", "-", input=flowrun("allowed", {"flowRef": {"name": "simple"}}))
        t.wait_flowrun("allowed", "Succeeded", timeout=120)
        # the chart's policy refuses FlowRuns in the release namespace at admission
        if t.kubectl("get", "namespace", POLICY_RELEASE[1], check=False, namespaced=False).returncode != 0:
            t.kubectl("create", "namespace", POLICY_RELEASE[1], namespaced=False, check=False)
        result = t.kubectl("-n", POLICY_RELEASE[1], "create", "--dry-run=server", "-f", "-",
                           input=flowrun("x", {"flowRef": {"name": "simple"}}), check=False, namespaced=False)
        refused(result, "operator's own", "security.allowOperatorNamespace")


def other_namespace(t, suffix):
    ns = f"{t.ns}-{suffix}"[:63]
    t.kubectl("create", "namespace", ns, namespaced=False)
    t.kubectl("-n", ns, "create", "secret", "generic", "podflow-s3",
              f"--from-literal=AWS_ACCESS_KEY_ID={t.env['AWS_ACCESS_KEY_ID']}",
              f"--from-literal=AWS_SECRET_ACCESS_KEY={t.env['AWS_SECRET_ACCESS_KEY']}", namespaced=False)
    t.wait_for_policies(ns)
    return ns


def s3_keys(t, prefix):
    import subprocess
    result = subprocess.run(["aws", "--endpoint-url", t.env["PODFLOW_S3_ENDPOINT"], "s3", "ls", "--recursive",
                             f"s3://{t.env['PODFLOW_S3_BUCKET']}/{prefix}"],
                            capture_output=True, text=True, env=t.env, timeout=60)
    return result.stdout


def test_resume_across_namespaces():
    with OperatorTest("ten-resume") as t:
        theirs = other_namespace(t, "b")
        try:
            setup(t, theirs)
            # one operator, one datastore for both namespaces
            t.start_operator("--namespace", theirs)
            t.apply(flow_document("simple", SIMPLE, run={}))
            origin = t.wait_flowrun("simple", "Succeeded", timeout=120)["status"]["runId"]
            as_user(t, "alice", "apply", "-f", "-", input=flow_document("simple", SIMPLE), namespace=theirs)
            accepted(as_user(t, "alice", "create", "-f", "-", namespace=theirs,
                             input=flowrun("steal", {"flowRef": {"name": "simple"}, "resumeFrom": origin})))
            run = t.wait_until("the resumed run to end", lambda: (lambda r: r if r.get("status", {}).get("phase") in (
                "Succeeded", "Failed") else None)(json.loads(t.kubectl(
                    "-n", theirs, "get", "flowrun", "steal", "-o", "json", namespaced=False).stdout)), 60)
            valid = t.condition(run, "Valid")
            expect(run["status"]["phase"] == "Failed" and valid["reason"] == "ResumeFromForbidden"
                   and "may not read" in valid["message"] and theirs in valid["message"],
                   f"alice resumed another namespace's run: {json.dumps(run['status'].get('conditions'))}")
            expect(run["status"].get("tasks", {}).get("cloned", 0) == 0, "tasks were cloned")

            # each namespace its own prefix: a run id of another namespace is not there
            expect(t.operators[0].stop() == 0, "the operator did not stop cleanly")
            t.start_operator("--namespace", theirs, "--datastore-per-namespace")
            t.kubectl("create", "-f", "-", input=flowrun("mine", {"flowRef": {"name": "simple"}}))
            mine = t.wait_flowrun("mine", "Succeeded", timeout=120)["status"]
            expect(mine["datastore"].endswith(f"/{t.ns}/{t.ns}"), f"datastore: {mine['datastore']}")
            expect(f"{t.ns}/{t.ns}/simple/{mine['runId']}/" in s3_keys(t, f"{t.ns}/{t.ns}/simple/"),
                   "no artifacts under the namespace's prefix")
            t.kubectl("-n", theirs, "create", "-f", "-", namespaced=False,
                      input=flowrun("resume-mine", {"flowRef": {"name": "simple"}, "resumeFrom": mine["runId"]}))
            end = time.monotonic() + 60
            while True:
                run = json.loads(t.kubectl("-n", theirs, "get", "flowrun", "resume-mine", "-o", "json",
                                           namespaced=False).stdout)
                if run.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    break
                if time.monotonic() > end:
                    raise TestFailure(f"resume-mine did not end: {run.get('status')}")
                time.sleep(0.5)
            failed = t.condition(run, "Failed")
            expect(run["status"]["phase"] == "Failed" and failed["reason"] == "ResumeFromNotFound"
                   and f"/{theirs}" in failed["message"],
                   f"a run of another namespace's prefix was resumed: {json.dumps(run['status'].get('conditions'))}")
        finally:
            t.kubectl("delete", "namespace", theirs, "--wait=false", check=False, namespaced=False)


if __name__ == "__main__":
    main([test_ordinary_user_runs_bigsum, test_secrets, test_service_account, test_placement,
          test_author_cannot_be_forged, test_tasks_are_the_operators, test_operator_namespace,
          test_resume_across_namespaces])
