#!/usr/bin/env python3
"""Writes crds/flows.yaml, crds/flowruns.yaml and crds/tasks.yaml from the one schema below.

The Flow spec appears twice (Flow.spec and FlowRun.spec.flow) and the step settings three times
(spec.defaults, every step, FlowRun.spec.overrides); writing them from one definition keeps the
copies identical. Edit this file, run it (`crds/generate.py`), commit both. The unit tests
`unit.crds.*` check the result against the C++ decoder (flow/flow_decoder.cpp) and each other;
tests/crds/ checks it against a real API server.

Bounds (maxItems, maxLength, maxProperties) are there for the API server's CEL cost estimator:
every rule (and `self == oldSelf` on a FlowRun's whole spec) must fit its budget for the largest
object the schema allows. Where the decoder has a limit (1000 steps, 40-character step names) the
schema has the same one; the others are far above what a flow needs (1000 list items, 256 map
entries, 64 KiB strings; toleration values 63 characters, as Kubernetes requires of a pod).
"""
import os
import sys

import yaml

GROUP = "podflow.dev"
VERSION = "v1alpha1"

# Limits of the decoder (flow/defaults.hpp, flow/lint.cpp) and the Kubernetes names they follow.
MAX_STEPS = 1000
MAX_STEP_NAME = 40
RETRY_MAX_TIMES = 5
RETRY_MAX_DELAY_SECONDS = 86400
MAX_SECONDS = 1 << 40  # decoder's bound on tolerationSeconds
# What no node has (flow/defaults.hpp, docs/flow-spec.md): the linter's ceilings, so kubectl
# refuses what `podflow validate` refuses, with the same range in the message.
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_CPU_CORES = 4096
MAX_MEMORY_MEGABYTES = (64 << 40) // 1000000  # 64 TiB
MAX_DISK_MEGABYTES = (1 << 50) // 1000000  # 1 PiB
MAX_GPU = 1024
MAX_PARALLELISM = 100000  # defaults::kMaxParallelism: a step's tasks at once
# Bounds only for the cost estimator.
MAX_LIST = 1000  # command arguments, env, secrets, tolerations, parameters, next
MAX_MAP = 256  # nodeSelector, labels, annotations
MAX_TEXT = 65536  # a command argument, an env value, a help text, a foreach artifact name
MAX_NAME = 253  # DNS subdomain
MAX_IMAGE = 1024

IDENTIFIER = "^[a-z][a-z0-9_]*$"
ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = DNS_LABEL[:-1] + "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# A run id: a FlowRun's status.runId (<name>-<uid prefix>) or a local run's number.
RUN_ID = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
RESERVED_STEP_NAMES = ["name", "next", "input", "index", "cmd"]


def string(max_length=MAX_TEXT, **extra):
    return {"type": "string", "maxLength": max_length, **extra}


def integer(minimum=None, maximum=None, **extra):
    schema = {"type": "integer", "format": "int64"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    schema.update(extra)
    return schema


def string_map(description):
    return {
        "type": "object",
        "description": description,
        "maxProperties": MAX_MAP,
        "additionalProperties": string(),
    }


def rule(expression, message, **extra):
    return {"rule": expression, "message": message, **extra}


def quantity(description, minimum_integer, maximum_integer, minimum_string, maximum_string, what):
    """An integer (cores or megabytes) or a Kubernetes quantity string, as the decoder reads it."""
    return {
        "description": description,
        "x-kubernetes-int-or-string": True,
        "maxLength": 64,
        "x-kubernetes-validations": [
            rule(
                f"type(self) == int ? self >= {minimum_integer} && self <= {maximum_integer} : "
                f"isQuantity(self) && "
                f"quantity(self).compareTo(quantity('{minimum_string}')) >= 0 && "
                f"quantity(self).compareTo(quantity('{maximum_string}')) <= 0",
                f"{what}",
            )
        ],
    }


def resources():
    return {
        "type": "object",
        "description": "What a task asks for: integers are cores (cpu) and megabytes (memory, disk), "
        "strings are Kubernetes quantities.",
        "properties": {
            "cpu": quantity(
                "cores: 4, \"500m\", \"1.5\" (default 1)",
                1,
                MAX_CPU_CORES,
                "1m",
                str(MAX_CPU_CORES),
                f"cpu must be a whole number of cores from 1 to {MAX_CPU_CORES} or a quantity "
                f"string from \"1m\" to \"{MAX_CPU_CORES}\", such as \"500m\" (no node has more "
                f"cores)",
            ),
            "memory": quantity(
                "megabytes as an integer (60000) or a quantity string (\"60Gi\"); default 4096",
                1,
                MAX_MEMORY_MEGABYTES,
                "1",
                "64Ti",
                f"memory must be megabytes (an integer from 1 to {MAX_MEMORY_MEGABYTES}) or a "
                f"quantity string from \"1\" to \"64Ti\", such as \"60Gi\" (no node has more "
                f"memory)",
            ),
            "disk": quantity(
                "local disk (ephemeral-storage): megabytes or a quantity string; default 10240",
                1,
                MAX_DISK_MEGABYTES,
                "1",
                "1Pi",
                f"disk must be megabytes (an integer from 1 to {MAX_DISK_MEGABYTES}) or a "
                f"quantity string from \"1\" to \"1Pi\", such as \"10Gi\" (no node has more "
                f"local disk)",
            ),
            "gpu": integer(0, MAX_GPU, description="number of GPUs (default 0)"),
            "gpuVendor": string(
                MAX_NAME,
                pattern=DNS_SUBDOMAIN,
                description="the device plugin's domain: the pod asks for <gpuVendor>/gpu "
                "(default nvidia.com)",
            ),
        },
    }


def step_settings():
    """What a step and spec.defaults (and a FlowRun's overrides) may set."""
    return {
        "image": string(MAX_IMAGE, minLength=1, description="container image"),
        "resources": resources(),
        "timeoutSeconds": integer(
            1, MAX_TIMEOUT_SECONDS,
            description="the task is stopped after this long (default 432000, at most 365 days)"
        ),
        "retry": {
            "type": "object",
            "properties": {
                "times": integer(
                    0, RETRY_MAX_TIMES, description="how many times a failed task is tried again"
                ),
                "delaySeconds": integer(
                    0, RETRY_MAX_DELAY_SECONDS, description="wait between attempts (default 120)"
                ),
            },
        },
        "env": {
            "type": "array",
            "description": "environment variables; names starting with PODFLOW_ are reserved",
            "maxItems": MAX_LIST,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": string(MAX_NAME, minLength=1, pattern=ENV_NAME),
                    "value": string(),
                },
                "x-kubernetes-validations": [
                    rule(
                        "!self.name.startsWith('PODFLOW_')",
                        "env names starting with PODFLOW_ are reserved by the step contract; "
                        "rename the variable",
                        fieldPath=".name",
                    )
                ],
            },
        },
        "secrets": {
            "type": "array",
            "description": "Secrets whose keys become environment variables",
            "maxItems": MAX_LIST,
            "items": string(MAX_NAME, pattern=DNS_SUBDOMAIN),
        },
        "serviceAccount": string(MAX_NAME, pattern=DNS_SUBDOMAIN, description="the pod's ServiceAccount"),
        "namespace": string(63, pattern=DNS_LABEL, description="the namespace of the step's pods"),
        "nodeSelector": string_map("the pod's nodeSelector"),
        "tolerations": {
            "type": "array",
            "description": "the pod's tolerations",
            "maxItems": MAX_LIST,
            "items": {
                "type": "object",
                "properties": {
                    "key": string(MAX_NAME),
                    "operator": {"type": "string", "enum": ["Exists", "Equal", ""]},
                    "value": string(63),
                    "effect": {
                        "type": "string",
                        "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute", ""],
                    },
                    "tolerationSeconds": integer(0, MAX_SECONDS),
                },
                "x-kubernetes-validations": [
                    rule(
                        "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || "
                        "self.value == ''",
                        "a toleration with operator Exists takes no value",
                        fieldPath=".value",
                    )
                ],
            },
        },
        "labels": string_map("added to the step's pods"),
        "annotations": string_map("added to the step's pods"),
        # Metaflow's other @kubernetes options: the pod only, a local run ignores them.
        "persistentVolumeClaims": {
            "type": "object",
            "description": "PersistentVolumeClaims of the namespace mounted in the step's container: "
            "claim name -> absolute mount path",
            "maxProperties": MAX_MAP,
            "additionalProperties": string(4096, minLength=2, pattern="^/"),
        },
        "sharedMemory": quantity(
            "/dev/shm size: megabytes or a quantity string (an emptyDir of medium Memory)",
            1,
            MAX_MEMORY_MEGABYTES,
            "1",
            "64Ti",
            "sharedMemory must be megabytes (an integer) or a quantity string such as \"1Gi\"",
        ),
        "tmpfs": {
            "type": "object",
            "description": "a memory-backed scratch directory (Metaflow's use_tmpfs)",
            "properties": {
                "size": quantity(
                    "megabytes or a quantity string; default half of the step's memory",
                    1,
                    MAX_MEMORY_MEGABYTES,
                    "1",
                    "64Ti",
                    "tmpfs.size must be megabytes (an integer) or a quantity string such as \"1Gi\"",
                ),
                "path": string(4096, minLength=2, pattern="^/", description="default /podflow_temp"),
                "tempdir": {"type": "boolean", "description": "TMPDIR points at it (default true)"},
            },
        },
        "qos": {"type": "string", "enum": ["Burstable", "Guaranteed"],
                "description": "Guaranteed: cpu limit = request (default Burstable: no cpu limit)"},
        "port": integer(1, 65535, description="a container port of the step's container"),
        "runOn": {"type": "string", "enum": ["Local", "Kubernetes"],
                  "description": "where the step runs: Local (default: where the run runs) or "
                                 "Kubernetes (a pod, even in a local run)"},
        "parallelism": integer(
            1, MAX_PARALLELISM,
            description="at most this many of the step's tasks run at once, beside the run's "
            "maxWorkers (default: no cap but maxWorkers)",
        ),
        "priorityClassName": string(MAX_NAME, pattern=DNS_SUBDOMAIN,
                                    description="the pod's PriorityClass, for clusters that preempt"),
    }


def settings_object(description):
    return {"type": "object", "description": description, "properties": step_settings()}


def step():
    properties = {
        "name": string(
            MAX_STEP_NAME,
            minLength=1,
            pattern=IDENTIFIER,
            description="lowercase letters, digits and _, starting with a letter",
        ),
        "command": {
            "type": "array",
            "description": "the program and its arguments, run without a shell",
            "minItems": 1,
            "maxItems": MAX_LIST,
            "items": string(),
            "x-kubernetes-validations": [
                rule("size(self) == 0 || self[0] != ''", "command[0] is empty; it must name the program to run")
            ],
        },
        "next": {
            "type": "array",
            "description": "the steps that follow; the end step has none",
            "minItems": 1,
            "maxItems": MAX_LIST,
            "items": string(MAX_STEP_NAME),
        },
        "foreach": string(
            MAX_TEXT,
            minLength=1,
            description="an artifact holding a JSON array: the single next step runs once per element",
        ),
        "join": {"type": "boolean", "description": "the step closes a split"},
    }
    properties.update(step_settings())
    return {
        "type": "object",
        "required": ["name", "command"],
        "properties": properties,
        "x-kubernetes-validations": [
            rule(
                "!(self.name in " + str(RESERVED_STEP_NAMES) + ")",
                "this name is a reserved word (name, next, input, index, cmd) and cannot name a step",
                fieldPath=".name",
            ),
            rule(
                "!has(self.foreach) || self.name == 'end' || (has(self.next) && size(self.next) == 1)",
                "a foreach step must have exactly one next step (the step that runs once per item)",
                fieldPath=".next",
            ),
            rule(
                "self.name != 'end' || !has(self.next)",
                "the end step must not have next",
                fieldPath=".next",
            ),
            rule(
                "self.name != 'end' || !has(self.foreach)",
                "the end step cannot be a foreach",
                fieldPath=".foreach",
            ),
            rule(
                "!(self.name in ['start', 'end']) || !has(self.join) || !self.join",
                "the start and end steps cannot be joins",
                fieldPath=".join",
            ),
            rule(
                "self.name == 'end' || has(self.next)",
                "the step has no next; only the end step has none",
            ),
            rule(
                "!has(self.next) || !self.next.exists(n, n == 'start')",
                "next names start; the start step begins the flow and cannot be a target",
                fieldPath=".next",
            ),
        ],
    }


def parameter():
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": string(
                MAX_NAME,
                minLength=1,
                pattern=IDENTIFIER,
                description="lowercase letters, digits and _, starting with a letter",
            ),
            "type": {
                "type": "string",
                "description": "string (default), integer, number, boolean or json",
                "enum": ["string", "integer", "number", "boolean", "json"],
            },
            "default": {
                "description": "the value when the run gives none: a scalar of the type, any JSON "
                "for type json; without it the parameter is required",
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "help": string(),
        },
    }


def flow_spec(description):
    return {
        "type": "object",
        "description": description,
        "required": ["steps"],
        "properties": {
            "image": string(MAX_IMAGE, description="the image of every step that sets none"),
            "parameters": {
                "type": "array",
                "maxItems": MAX_LIST,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": parameter(),
            },
            "defaults": settings_object("step settings for every step"),
            "steps": {
                "type": "array",
                "description": "the steps, at most 1000; every flow has a start and an end step",
                "maxItems": MAX_STEPS,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": step(),
            },
        },
        "x-kubernetes-validations": [
            rule(
                "self.steps.exists(s, s.name == 'start')",
                "the flow has no step named 'start'; every flow begins with a start step",
                fieldPath=".steps",
            ),
            rule(
                "self.steps.exists(s, s.name == 'end')",
                "the flow has no step named 'end'; every flow finishes with an end step",
                fieldPath=".steps",
            ),
        ],
    }


def condition():
    """metav1.Condition."""
    return {
        "type": "object",
        "required": ["type", "status", "lastTransitionTime", "reason", "message"],
        "properties": {
            "type": string(316, pattern="^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"),
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "observedGeneration": integer(0),
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": string(1024, minLength=1, pattern="^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
            "message": string(32768),
        },
    }


def conditions(description):
    return {
        "type": "array",
        "description": description,
        "maxItems": 16,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": condition(),
    }


def timestamp(description):
    return {"type": "string", "format": "date-time", "description": description}


def age():
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def crd(plural, kind, short, spec, status, columns, description, root_rules=None):
    root = {
        "type": "object",
        "description": description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        "required": ["spec"],
    }
    if root_rules:
        root["x-kubernetes-validations"] = root_rules
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "podflow", "app.kubernetes.io/part-of": "podflow"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "listKind": kind + "List",
                "shortNames": [short],
                "categories": ["podflow"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def flow_crd():
    status = {
        "type": "object",
        "properties": {
            "observedGeneration": integer(0),
            "conditions": conditions("Valid: the operator's linter accepts the flow"),
        },
    }
    columns = [
        {
            "name": "Valid",
            "type": "string",
            "jsonPath": ".status.conditions[?(@.type==\"Valid\")].status",
        },
        age(),
    ]
    name_rule = rule(
        "size(self.metadata.name) <= 63 && self.metadata.name.matches('" + DNS_LABEL + "')",
        "metadata.name is not a valid flow name; use at most 63 lowercase letters, digits and "
        "'-' (e.g. big-sum)",
    )
    return crd(
        "flows",
        "Flow",
        "fl",
        flow_spec("the Flow document's spec: see docs/flow-spec.md"),
        status,
        columns,
        "A flow definition: steps, their graph and their settings (docs/flow-spec.md).",
        [name_rule],
    )


def flowrun_crd():
    spec = {
        "type": "object",
        "properties": {
            "flowRef": {
                "type": "object",
                "description": "a Flow in the same namespace",
                "required": ["name"],
                "properties": {"name": string(MAX_NAME, minLength=1)},
            },
            "flow": flow_spec("an inline Flow spec (the same fields as Flow.spec)"),
            "flowName": string(
                63,
                pattern=DNS_LABEL,
                description="the flow's name with an inline spec; default: the FlowRun's name",
            ),
            "parameters": {
                "type": "array",
                "description": "values are strings, checked against the flow's declarations",
                "maxItems": MAX_LIST,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": string(MAX_NAME, minLength=1, pattern=IDENTIFIER),
                        "value": string(1 << 20),
                    },
                },
            },
            "maxWorkers": integer(
                1,
                description="at most this many Tasks pending or running at once",
                default=16,
            ),
            "maxNumSplits": integer(
                1, description="a foreach with more splits fails", default=100
            ),
            "overrides": settings_object(
                "run-wide step settings: any field of spec.defaults; resources take the larger "
                "of step and override"
            ),
            "resumeFrom": string(
                MAX_NAME,
                minLength=1,
                pattern=RUN_ID,
                description="the run id (status.runId) of an earlier run of the same flow in the "
                "same datastore (Metaflow's origin run): its successful tasks are reused, the "
                "rest run again (podflow resume RUN --with kubernetes)",
            ),
        },
        "x-kubernetes-validations": [
            rule(
                "has(self.flowRef) != has(self.flow)",
                "set exactly one of flowRef and flow",
            ),
            rule(
                "self == oldSelf",
                "spec is immutable: a run is what it was when it started; create another FlowRun "
                "to run again",
            ),
        ],
    }
    status = {
        "type": "object",
        "properties": {
            "observedGeneration": integer(0),
            "phase": {"type": "string", "enum": ["Pending", "Running", "Succeeded", "Failed"]},
            "runId": string(MAX_NAME, description="the run's directory in the datastore"),
            "flowName": string(63),
            "datastore": string(),
            "startTime": timestamp("when the run started"),
            "completionTime": timestamp("when the run finished"),
            "flow": {
                "type": "object",
                "description": "the snapshot of the Flow spec this run executes",
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "tasks": {
                "type": "object",
                "description": "counts of the Tasks created so far",
                "properties": {
                    **{
                        name: integer(0)
                        for name in ["total", "pending", "running", "succeeded", "failed"]
                    },
                    "cloned": integer(
                        0,
                        description="of succeeded, the tasks reused from spec.resumeFrom's run "
                        "(they have no Task)",
                    ),
                },
            },
            "conditions": conditions("Valid, Running, Succeeded, Failed, Resumed"),
        },
    }
    columns = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Succeeded", "type": "integer", "jsonPath": ".status.tasks.succeeded"},
        {"name": "Total", "type": "integer", "jsonPath": ".status.tasks.total"},
        {"name": "Running", "type": "integer", "jsonPath": ".status.tasks.running"},
        {"name": "Failed", "type": "integer", "jsonPath": ".status.tasks.failed"},
        age(),
    ]
    return crd(
        "flowruns",
        "FlowRun",
        "fr",
        spec,
        status,
        columns,
        "One execution of a flow (docs/api.md).",
    )


def task_crd():
    settings = step_settings()
    spec = {
        "type": "object",
        "required": ["flowRun", "step", "count"],
        "properties": {
            "flowRun": string(MAX_NAME, minLength=1, description="the FlowRun these tasks belong to"),
            "step": string(MAX_STEP_NAME, minLength=1),
            "indexed": {
                "type": "boolean",
                "description": "the step runs inside a foreach: the members are its splits, "
                "indexed 0..count-1",
            },
            "splitPrefix": {
                "type": "array",
                "maxItems": 64,
                "items": integer(0),
                "description": "the split path the members share (of the foreach steps around "
                "the innermost one)",
            },
            "count": integer(1, description="how many members: the foreach's width, or 1"),
            "image": string(MAX_IMAGE),
            "resources": {
                "type": "object",
                "description": "Kubernetes quantities (the Flow's integer megabytes already converted)",
                "properties": {
                    "cpu": string(64),
                    "memory": string(64),
                    "disk": string(64),
                    "gpu": integer(0, MAX_GPU),
                    "gpuVendor": string(MAX_NAME),
                },
            },
            "timeoutSeconds": integer(1, MAX_SECONDS, description="the pod's activeDeadlineSeconds"),
            "retry": settings["retry"],
            "secrets": settings["secrets"],
            "serviceAccount": settings["serviceAccount"],
            "nodeSelector": settings["nodeSelector"],
            "tolerations": settings["tolerations"],
            "labels": settings["labels"],
            "annotations": settings["annotations"],
            "persistentVolumeClaims": settings["persistentVolumeClaims"],
            "sharedMemory": string(64, description="a quantity (the Flow's megabytes converted)"),
            "tmpfs": {
                "type": "object",
                "properties": {
                    "size": string(64, description="a quantity"),
                    "path": settings["tmpfs"]["properties"]["path"],
                    "tempdir": settings["tmpfs"]["properties"]["tempdir"],
                },
            },
            "qos": settings["qos"],
            "port": settings["port"],
            "priorityClassName": settings["priorityClassName"],
        },
        "x-kubernetes-validations": [rule("self == oldSelf", "spec is immutable")],
    }
    index_list = string(
        1 << 20,
        description='member indexes as sorted intervals, as the Job\'s completedIndexes: "0-3,5,7-9"',
    )
    count = integer(0)
    status = {
        "type": "object",
        "properties": {
            "phase": {"type": "string", "enum": ["Pending", "Running", "Succeeded", "Failed"]},
            "succeeded": count,
            "failed": count,
            "running": count,
            "pending": count,
            "progress": string(64, description="succeeded/count, for kubectl get"),
            "succeededIndexes": index_list,
            "failedIndexes": index_list,
            "runningIndexes": index_list,
            "retried": {
                "type": "array",
                "description": "only the members that needed more than one attempt",
                "items": {
                    "type": "object",
                    "required": ["index", "attempt"],
                    "properties": {
                        "index": integer(0),
                        "attempt": integer(0, description="the current (or last) attempt"),
                        "failures": integer(0, description="failed attempts counted against retry.times"),
                        "disruptions": integer(
                            0,
                            description="attempts lost to eviction, preemption or a lost node "
                            "(not counted against retry.times)",
                        ),
                        "reason": string(1024),
                        "message": string(32768),
                    },
                },
            },
            "splitCounts": {
                "type": "object",
                "description": "a foreach step: each succeeded member's number of splits, by index",
                "additionalProperties": integer(0),
            },
            "reason": string(1024, description="what the Task waits for, or why it failed: one word"),
            "message": string(32768),
            "startTime": timestamp("when its first member's pod ran"),
            "completionTime": timestamp("when its last member ended"),
        },
    }
    columns = [
        {"name": "Step", "type": "string", "jsonPath": ".spec.step"},
        {"name": "Completions", "type": "string", "jsonPath": ".status.progress"},
        {"name": "Running", "type": "integer", "jsonPath": ".status.running"},
        {"name": "Failed", "type": "integer", "jsonPath": ".status.failed"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Reason", "type": "string", "jsonPath": ".status.reason", "priority": 1},
        age(),
    ]
    return crd(
        "tasks",
        "Task",
        "tk",
        spec,
        status,
        columns,
        "The tasks of one step and split prefix of a FlowRun: a foreach's members (docs/api.md).",
    )


class _Dumper(yaml.SafeDumper):
    """Writes every subtree in full: no YAML anchors or aliases."""

    def ignore_aliases(self, data):
        return True


HEADER = (
    "# Generated by crds/generate.py from one schema; edit that and run it (see crds/README.md).\n"
)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    check = "--check" in sys.argv[1:]
    stale = []
    for name, document in [
        ("flows.yaml", flow_crd()),
        ("flowruns.yaml", flowrun_crd()),
        ("tasks.yaml", task_crd()),
    ]:
        text = HEADER + yaml.dump(
            document, Dumper=_Dumper, sort_keys=False, width=100, default_flow_style=False
        )
        path = os.path.join(here, name)
        if check:
            with open(path, encoding="utf-8") as existing:
                if existing.read() != text:
                    stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text)
    if stale:
        print("out of date (run crds/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
