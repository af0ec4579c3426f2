// Task objects as the API server returns them, for the pod tests.
#pragma once

#include <nlohmann/json.hpp>

namespace podflow::pod::testing {

// Every field of docs/api.md's Task spec set, for split 1.3 of step train_model.
inline nlohmann::json full_task() {
  return nlohmann::json::parse(R"({
    "apiVersion": "podflow.dev/v1alpha1",
    "kind": "Task",
    "metadata": {
      "name": "bigsum.train-model.1.3",
      "namespace": "ml",
      "uid": "6b1c9a2e-53f1-4f0e-9d3c-2b7c1f0e8a11",
      "resourceVersion": "48213",
      "generation": 1,
      "creationTimestamp": "2026-11-21T19:00:00Z",
      "labels": {"podflow.dev/run": "bigsum", "podflow.dev/step": "train_model"},
      "ownerReferences": [{"apiVersion": "podflow.dev/v1alpha1", "kind": "FlowRun",
                           "name": "bigsum", "uid": "0f0e0d0c-0000-4000-8000-000000000001",
                           "controller": true, "blockOwnerDeletion": true}]
    },
    "spec": {
      "flowRun": "bigsum",
      "step": "train_model",
      "taskId": "train_model.1.3",
      "image": "python:3.12",
      "resources": {"cpu": "500m", "memory": "60000M", "disk": "10240M", "gpu": 2,
                    "gpuVendor": "nvidia.com"},
      "timeoutSeconds": 3600,
      "retry": {"times": 2, "delaySeconds": 120},
      "secrets": ["db-credentials", "wandb"],
      "serviceAccount": "trainer",
      "nodeSelector": {"pool": "gpu"},
      "tolerations": [
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "spot", "operator": "", "value": "", "effect": ""}
      ],
      "labels": {"team": "ml", "purpose": "nightly retraining of the recommendation model, all regions and languages"},
      "annotations": {"owner": "ana@example.com"},
      "runtime": {
        "datastore": "s3://podflow/runs", "flow": "bigsum", "run": "bigsum-1f2e3d4c",
        "step": "train_model", "task": "train_model.1.3", "attempt": 0, "splitPath": [1, 3],
        "command": ["python3", "train.py"], "env": [{"name": "MODE", "value": "fast"}],
        "parameters": [{"name": "size", "value": "2000"}], "cpu": 0.5, "timeoutSeconds": 3600,
        "graceSeconds": 10, "join": false,
        "parents": [{"step": "split", "prefix": [1]}],
        "foreachInput": {"task": "split.1", "step": "split", "attempt": 0, "index": 3},
        "workDir": ""
      }
    },
    "status": {"phase": "Pending", "attempt": 0}
  })");
}

// Only what a Task must have.
inline nlohmann::json minimal_task() {
  return nlohmann::json::parse(R"({
    "apiVersion": "podflow.dev/v1alpha1",
    "kind": "Task",
    "metadata": {"name": "hello.start", "namespace": "default",
                 "uid": "11111111-2222-4333-8444-555555555555"},
    "spec": {
      "flowRun": "hello",
      "step": "start",
      "taskId": "start",
      "image": "busybox:1.36",
      "runtime": {"datastore": "s3://podflow/runs", "flow": "hello", "run": "hello-00aa11bb",
                  "step": "start", "task": "start", "attempt": 0,
                  "command": ["sh", "-c", "echo hi"], "workDir": ""}
    }
  })");
}

}  // namespace podflow::pod::testing
