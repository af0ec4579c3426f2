#include <doctest/doctest.h>

#include "kube/kube_error.hpp"

using namespace podflow::kube;

// Bodies as kube-apiserver v1.36 sends them.
TEST_CASE("a NotFound Status is classified with its message") {
  auto error = error_from_response(404, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"configmaps \"missing\" not found","reason":"NotFound",
    "details":{"name":"missing","kind":"configmaps"},"code":404})j",
                                   "GET", "/api/v1/namespaces/default/configmaps/missing");
  CHECK(error.code() == 404);
  CHECK(error.reason() == Reason::not_found);
  CHECK(error.status_message() == "configmaps \"missing\" not found");
  CHECK(error.details().name == "missing");
  CHECK(is_not_found(error));
  CHECK_FALSE(is_conflict(error));
  CHECK_FALSE(is_retryable(error));
  CHECK(std::string(error.what()) ==
        "GET /api/v1/namespaces/default/configmaps/missing: 404 NotFound: configmaps \"missing\" "
        "not found");
}

TEST_CASE("AlreadyExists and Conflict are told apart although both are 409") {
  auto exists = error_from_response(409, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"configmaps \"a\" already exists","reason":"AlreadyExists",
    "details":{"name":"a","kind":"configmaps"},"code":409})j",
                                    "CREATE", "/api/v1/namespaces/default/configmaps");
  CHECK(is_already_exists(exists));
  CHECK_FALSE(is_conflict(exists));
  auto conflict = error_from_response(409, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
    "reason":"Conflict","details":{"name":"a","kind":"configmaps"},"code":409})j",
                                      "UPDATE", "/api/v1/namespaces/default/configmaps/a");
  CHECK(is_conflict(conflict));
  CHECK_FALSE(is_already_exists(conflict));
  CHECK_FALSE(is_retryable(conflict));
}

TEST_CASE("Invalid keeps the field causes for a condition message") {
  auto error = error_from_response(422, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters",
    "reason":"Invalid","details":{"name":"Bad_Name","kind":"ConfigMap","causes":[
    {"reason":"FieldValueInvalid","message":"Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain","field":"metadata.name"},
    {"reason":"FieldValueRequired","message":"Required value","field":"data.key"}]},"code":422})j",
                                   "CREATE", "/api/v1/namespaces/default/configmaps");
  CHECK(is_invalid(error));
  REQUIRE(error.causes().size() == 2);
  CHECK(error.causes()[0].field == "metadata.name");
  CHECK(error.causes()[0].type == "FieldValueInvalid");
  CHECK(error.causes()[1].type == "FieldValueRequired");
  CHECK(describe_causes(error) ==
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain; data.key: "
        "Required value");
}

TEST_CASE("410 Expired from a watch means re-list") {
  auto error = error_from_response(410, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"too old resource version: 1 (2345)","reason":"Expired","code":410})j",
                                   "WATCH", "/api/v1/namespaces/default/configmaps");
  CHECK(error.reason() == Reason::expired);
  CHECK(is_gone(error));
  CHECK_FALSE(is_retryable(error));
  auto gone = error_from_response(410, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410})j",
                                  "LIST", "/api/v1/configmaps");
  CHECK(is_gone(gone));
}

TEST_CASE("429 and 5xx are retryable and carry Retry-After") {
  auto throttled = error_from_response(429, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests",
    "details":{"causes":[{"message":"client rate limiter"}],"retryAfterSeconds":3},"code":429})j",
                                       "LIST", "/api/v1/pods");
  CHECK(throttled.reason() == Reason::too_many_requests);
  CHECK(is_retryable(throttled));
  REQUIRE(retry_after(throttled).has_value());
  CHECK(retry_after(throttled)->count() == 3);

  auto header_only = error_from_response(429, "", "GET", "/x", "7");
  CHECK(retry_after(header_only)->count() == 7);

  auto timeout = error_from_response(504, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"Timeout: request did not complete within the allotted timeout",
    "reason":"Timeout","details":{},"code":504})j",
                                     "LIST", "/api/v1/pods");
  CHECK(timeout.reason() == Reason::timeout);
  CHECK(is_retryable(timeout));

  auto server_timeout = error_from_response(500, R"j({"kind":"Status","apiVersion":"v1",
    "metadata":{},"status":"Failure","message":"The list operation against pods could not be completed at this time, please try again.",
    "reason":"ServerTimeout","details":{"name":"list","kind":"pods","retryAfterSeconds":2},"code":500})j",
                                            "LIST", "/api/v1/pods");
  CHECK(server_timeout.reason() == Reason::server_timeout);
  CHECK(is_retryable(server_timeout));
  CHECK(retry_after(server_timeout)->count() == 2);
}

TEST_CASE("a non-Status body gets its reason from the code and keeps the text") {
  auto error = error_from_response(503, "upstream connect error\n", "GET", "/api/v1/pods");
  CHECK(error.reason() == Reason::service_unavailable);
  CHECK(error.status_message() == "upstream connect error");
  CHECK(is_retryable(error));
  auto forbidden = error_from_response(403, R"j({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\"",
    "reason":"Forbidden","details":{"kind":"pods"},"code":403})j",
                                       "LIST", "/api/v1/pods");
  CHECK(is_forbidden(forbidden));
  CHECK_FALSE(is_retryable(forbidden));
  auto empty = error_from_response(502, "", "GET", "/x");
  CHECK(is_retryable(empty));
  CHECK(empty.reason() == Reason::unknown);
}

TEST_CASE("connection errors are retryable - other exceptions are not classified") {
  auto error = connection_error("Connection refused", "GET", "/api/v1/pods");
  CHECK(error.code() == 0);
  CHECK(error.reason() == Reason::connection_error);
  CHECK(is_retryable(error));
  CHECK(std::string(error.what()) ==
        "GET /api/v1/pods: no answer from the API server: Connection refused");
  std::runtime_error other("boom");
  CHECK_FALSE(is_retryable(other));
  CHECK_FALSE(is_not_found(other));
  CHECK_FALSE(retry_after(other).has_value());
}

TEST_CASE("reason names round-trip") {
  for (auto reason : {Reason::not_found, Reason::already_exists, Reason::conflict, Reason::invalid,
                      Reason::expired, Reason::gone, Reason::too_many_requests}) {
    CHECK(parse_reason(reason_name(reason)) == reason);
  }
  CHECK(parse_reason("SomethingNew") == Reason::unknown);
}
