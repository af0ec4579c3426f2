// The one error type of the Kubernetes client: every failed API request throws KubeError.
//
// The API server answers a failed request with a `Status` object (kind: Status) carrying an HTTP
// code, a machine-readable `reason` (NotFound, AlreadyExists, Conflict, Invalid, ...), a message
// and, for Invalid, the offending fields in `details.causes`. KubeError keeps all of it so a
// reconciler can decide what to do: a conflict is retried, an invalid object becomes a condition
// naming the field, 429 and 5xx back off (honouring Retry-After).
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace podflow::kube {

// The Status reasons of k8s.io/apimachinery/pkg/apis/meta/v1 (StatusReason), plus
// connection_error for requests that never got an HTTP answer.
enum class Reason {
  unknown,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  already_exists,
  conflict,
  gone,
  expired,
  invalid,
  request_entity_too_large,
  method_not_allowed,
  not_acceptable,
  unsupported_media_type,
  too_many_requests,
  internal_error,
  server_timeout,
  timeout,
  service_unavailable,
  connection_error,
};

// "NotFound", "AlreadyExists", ... as the API server spells them; "ConnectionError" for ours.
std::string_view reason_name(Reason reason);
// The inverse of reason_name; Reason::unknown for anything else.
Reason parse_reason(std::string_view name);

// One entry of Status.details.causes: for Invalid, `field` is the JSON path ("spec.steps[0].name")
// and `message` says what is wrong with it.
struct StatusCause {
  std::string type;  // "FieldValueRequired", "FieldValueInvalid", ...
  std::string message;
  std::string field;
};

class KubeError : public std::runtime_error {
 public:
  struct Details {
    int code = 0;  // the HTTP status; 0 when no answer arrived (connection_error)
    Reason reason = Reason::unknown;
    std::string message;  // the Status message, or the transport's error
    std::vector<StatusCause> causes;
    std::optional<std::chrono::seconds> retry_after;  // details.retryAfterSeconds or Retry-After
    std::string verb;                                 // "GET", "LIST", "WATCH", "APPLY", ...
    std::string path;                                 // "/api/v1/namespaces/default/pods/x"
    std::string name;                                 // Status.details.name, when given
  };

  explicit KubeError(Details details);

  int code() const { return details_.code; }
  Reason reason() const { return details_.reason; }
  const std::string& status_message() const { return details_.message; }
  const std::vector<StatusCause>& causes() const { return details_.causes; }
  std::optional<std::chrono::seconds> retry_after() const { return details_.retry_after; }
  const std::string& verb() const { return details_.verb; }
  const std::string& path() const { return details_.path; }
  const Details& details() const { return details_; }

 private:
  Details details_;
};

// Builds the error for an HTTP answer `code` with `body` (a Status object when the API server
// sent one; anything else is kept as the message). When the body does not carry a reason, it is
// derived from the code as client-go does (404 -> NotFound, 409 -> Conflict, 410 -> Gone,
// 422 -> Invalid, 429 -> TooManyRequests, 500 -> InternalError, 503 -> ServiceUnavailable, 504 ->
// Timeout). `retry_after_header` is the Retry-After header's value, if any.
KubeError error_from_response(int code, std::string_view body, std::string verb, std::string path,
                              std::string_view retry_after_header = {});
// A request that got no HTTP answer (refused, reset, TLS failure, timeout of the transport).
KubeError connection_error(std::string message, std::string verb, std::string path);

// Classification, true only for a KubeError of that kind (any other exception gives false).
bool is_not_found(const std::exception& error);
bool is_already_exists(const std::exception& error);
bool is_conflict(const std::exception& error);
bool is_invalid(const std::exception& error);
bool is_forbidden(const std::exception& error);
// 410 Gone or reason Expired: the resourceVersion asked for is too old; re-list.
bool is_gone(const std::exception& error);
// Worth retrying the same request later: 429, 5xx, ServerTimeout/Timeout, connection errors.
bool is_retryable(const std::exception& error);
// How long the server asked us to wait (Retry-After / retryAfterSeconds); nullopt otherwise.
std::optional<std::chrono::seconds> retry_after(const std::exception& error);

// For a condition message: "spec.steps[0].name: Required value; spec.image: Invalid value"
// when there are causes, the Status message otherwise.
std::string describe_causes(const KubeError& error);

}  // namespace podflow::kube
