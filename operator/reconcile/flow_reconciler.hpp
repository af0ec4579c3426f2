// The Flow reconciler: validates every Flow with the linter `podflow validate` uses and reports
// the result as the Valid condition, so `kubectl get flow` shows a broken flow before anyone runs
// it (graph rules the CRD's schema cannot express).
#pragma once

#include <string>

#include "kube/controller.hpp"
#include "operator/reconcile/operator_context.hpp"

namespace podflow::reconcile {

class FlowReconciler {
 public:
  explicit FlowReconciler(OperatorContext& context) : context_(context) {}

  kube::Action reconcile(const std::string& key);

 private:
  OperatorContext& context_;
};

}  // namespace podflow::reconcile
