#include "kube/kube_error.hpp"

#include <array>
#include <charconv>
#include <utility>

#include <nlohmann/json.hpp>

namespace podflow::kube {
namespace {

constexpr std::array<std::pair<Reason, std::string_view>, 20> kReasonNames{{
    {Reason::unknown, ""},
    {Reason::bad_request, "BadRequest"},
    {Reason::unauthorized, "Unauthorized"},
    {Reason::forbidden, "Forbidden"},
    {Reason::not_found, "NotFound"},
    {Reason::already_exists, "AlreadyExists"},
    {Reason::conflict, "Conflict"},
    {Reason::gone, "Gone"},
    {Reason::expired, "Expired"},
    {Reason::invalid, "Invalid"},
    {Reason::request_entity_too_large, "RequestEntityTooLarge"},
    {Reason::method_not_allowed, "MethodNotAllowed"},
    {Reason::not_acceptable, "NotAcceptable"},
    {Reason::unsupported_media_type, "UnsupportedMediaType"},
    {Reason::too_many_requests, "TooManyRequests"},
    {Reason::internal_error, "InternalError"},
    {Reason::server_timeout, "ServerTimeout"},
    {Reason::timeout, "Timeout"},
    {Reason::service_unavailable, "ServiceUnavailable"},
    {Reason::connection_error, "ConnectionError"},
}};

// client-go's reasonForError / NewGenericServerResponse: the reason implied by a bare code.
Reason reason_for_code(int code) {
  switch (code) {
    case 400:
      return Reason::bad_request;
    case 401:
      return Reason::unauthorized;
    case 403:
      return Reason::forbidden;
    case 404:
      return Reason::not_found;
    case 405:
      return Reason::method_not_allowed;
    case 406:
      return Reason::not_acceptable;
    case 409:
      return Reason::conflict;
    case 410:
      return Reason::gone;
    case 413:
      return Reason::request_entity_too_large;
    case 415:
      return Reason::unsupported_media_type;
    case 422:
      return Reason::invalid;
    case 429:
      return Reason::too_many_requests;
    case 500:
      return Reason::internal_error;
    case 503:
      return Reason::service_unavailable;
    case 504:
      return Reason::timeout;
    default:
      return Reason::unknown;
  }
}

std::string what_text(const KubeError::Details& details) {
  std::string text = details.verb + " " + details.path + ": ";
  if (details.code == 0) {
    text += "no answer from the API server: ";
  } else {
    text += std::to_string(details.code);
    auto name = reason_name(details.reason);
    if (!name.empty()) text += " " + std::string(name);
    text += ": ";
  }
  text += details.message;
  return text;
}

const KubeError* as_kube_error(const std::exception& error) {
  return dynamic_cast<const KubeError*>(&error);
}

std::string trimmed_body(std::string_view body) {
  constexpr std::size_t kMax = 512;
  std::string text(body.substr(0, kMax));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (body.size() > kMax) text += "...";
  return text;
}

}  // namespace

std::string_view reason_name(Reason reason) {
  for (const auto& [value, name] : kReasonNames) {
    if (value == reason) return name;
  }
  return "";
}

Reason parse_reason(std::string_view name) {
  if (name.empty()) return Reason::unknown;
  for (const auto& [value, text] : kReasonNames) {
    if (text == name) return value;
  }
  return Reason::unknown;
}

KubeError::KubeError(Details details)
    : std::runtime_error(what_text(details)), details_(std::move(details)) {}

KubeError error_from_response(int code, std::string_view body, std::string verb, std::string path,
                              std::string_view retry_after_header) {
  KubeError::Details details;
  details.code = code;
  details.verb = std::move(verb);
  details.path = std::move(path);
  bool from_status = false;
  auto status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    from_status = true;
    details.reason = parse_reason(status.value("reason", ""));
    details.message = status.value("message", "");
    if (status.contains("code") && status["code"].is_number_integer() && code == 0) {
      details.code = status["code"].get<int>();
    }
    if (auto it = status.find("details"); it != status.end() && it->is_object()) {
      details.name = it->value("name", "");
      if (auto causes = it->find("causes"); causes != it->end() && causes->is_array()) {
        for (const auto& cause : *causes) {
          if (!cause.is_object()) continue;
          details.causes.push_back(StatusCause{
              cause.value("reason", ""), cause.value("message", ""), cause.value("field", "")});
        }
      }
      if (auto seconds = it->find("retryAfterSeconds");
          seconds != it->end() && seconds->is_number_integer() && seconds->get<int>() > 0) {
        details.retry_after = std::chrono::seconds(seconds->get<int>());
      }
    }
  }
  if (details.reason == Reason::unknown) details.reason = reason_for_code(details.code);
  if (!from_status) details.message = trimmed_body(body);
  if (details.message.empty()) details.message = std::string(reason_name(details.reason));
  if (!details.retry_after && !retry_after_header.empty()) {
    int seconds = 0;
    auto [end, error] = std::from_chars(
        retry_after_header.data(), retry_after_header.data() + retry_after_header.size(), seconds);
    if (error == std::errc() && seconds > 0) details.retry_after = std::chrono::seconds(seconds);
  }
  return KubeError(std::move(details));
}

KubeError connection_error(std::string message, std::string verb, std::string path) {
  KubeError::Details details;
  details.reason = Reason::connection_error;
  details.message = std::move(message);
  details.verb = std::move(verb);
  details.path = std::move(path);
  return KubeError(std::move(details));
}

bool is_not_found(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && kube->reason() == Reason::not_found;
}

bool is_already_exists(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && kube->reason() == Reason::already_exists;
}

bool is_conflict(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && kube->reason() == Reason::conflict;
}

bool is_invalid(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && kube->reason() == Reason::invalid;
}

bool is_forbidden(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && kube->reason() == Reason::forbidden;
}

bool is_gone(const std::exception& error) {
  auto* kube = as_kube_error(error);
  return kube && (kube->code() == 410 || kube->reason() == Reason::gone ||
                  kube->reason() == Reason::expired);
}

bool is_retryable(const std::exception& error) {
  auto* kube = as_kube_error(error);
  if (!kube) return false;
  switch (kube->reason()) {
    case Reason::connection_error:
    case Reason::too_many_requests:
    case Reason::server_timeout:
    case Reason::timeout:
    case Reason::service_unavailable:
    case Reason::internal_error:
      return true;
    default:
      break;
  }
  return kube->code() == 429 || kube->code() >= 500;
}

std::optional<std::chrono::seconds> retry_after(const std::exception& error) {
  auto* kube = as_kube_error(error);
  if (!kube) return std::nullopt;
  return kube->retry_after();
}

std::string describe_causes(const KubeError& error) {
  if (error.causes().empty()) return error.status_message();
  std::string text;
  for (const auto& cause : error.causes()) {
    if (!text.empty()) text += "; ";
    if (!cause.field.empty()) text += cause.field + ": ";
    text += cause.message;
  }
  return text;
}

}  // namespace podflow::kube
