#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "datastore/sha256.hpp"
#include "datastore/sigv4.hpp"

namespace {

using podflow::datastore::SignedRequest;
using podflow::datastore::SigningCredentials;

const std::filesystem::path kVectors = PODFLOW_SIGV4_VECTORS;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE_MESSAGE(file.good(), "missing vector file " << path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Parses AWS's .req format: "METHOD URI HTTP/1.1", "Name:value" lines, a blank line, the body.
// The URI is raw (it may hold spaces or UTF-8), so it is everything between the first and the
// last space of the request line.
struct ParsedRequest {
  SignedRequest request;
  std::string amz_date;
};

ParsedRequest parse_request(const std::string& text) {
  ParsedRequest parsed;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  const auto first = line.find(' '), last = line.rfind(' ');
  parsed.request.method = line.substr(0, first);
  const std::string uri = line.substr(first + 1, last - first - 1);
  const auto question = uri.find('?');
  parsed.request.encoded_path = podflow::datastore::uri_encode_path(uri.substr(0, question));
  if (question != std::string::npos) {
    std::istringstream query(uri.substr(question + 1));
    std::string pair;
    while (std::getline(query, pair, '&')) {
      const auto equals = pair.find('=');
      parsed.request.query.emplace_back(pair.substr(0, equals),
                                        equals == std::string::npos ? "" : pair.substr(equals + 1));
    }
  }
  std::string body;
  bool in_body = false;
  while (std::getline(lines, line)) {
    if (in_body) {
      body += line;
      continue;
    }
    if (line.empty()) {
      in_body = true;
      continue;
    }
    const auto colon = line.find(':');
    const std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    parsed.request.headers.emplace_back(name, value);
    if (name == "X-Amz-Date") parsed.amz_date = value;
  }
  parsed.request.payload_sha256 = podflow::datastore::sha256_hex(body);
  return parsed;
}

const SigningCredentials kSuiteCredentials{"AKIDEXAMPLE",
                                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

}  // namespace

TEST_CASE("sigv4 matches AWS's signature test suite") {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kVectors)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    const auto file = [&](const std::string& extension) {
      return read_text(entry.path() / (name + extension));
    };
    CAPTURE(name);
    const ParsedRequest parsed = parse_request(file(".req"));
    CHECK(podflow::datastore::canonical_request(parsed.request) == file(".creq"));
    CHECK(podflow::datastore::string_to_sign(parsed.request, parsed.amz_date, "us-east-1",
                                             "service") == file(".sts"));
    CHECK(podflow::datastore::authorization_header(parsed.request, parsed.amz_date, "us-east-1",
                                                   "service", kSuiteCredentials) == file(".authz"));
    ++cases;
  }
  CHECK(cases == 11);
}

// The four examples of the Amazon S3 API Reference, "Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk" (AWS Signature Version 4).
TEST_CASE("sigv4 matches the Amazon S3 documentation's examples") {
  const SigningCredentials credentials{"AKIAIOSFODNN7EXAMPLE",
                                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  const std::string date = "20130524T000000Z";
  const std::string empty = podflow::datastore::sha256_hex("");
  const auto signature = [&](const SignedRequest& request) {
    const std::string header =
        podflow::datastore::authorization_header(request, date, "us-east-1", "s3", credentials);
    return header.substr(header.find("Signature=") + 10);
  };

  SUBCASE("GET Object with a range") {
    SignedRequest request{"GET",
                          "/test.txt",
                          {},
                          {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", empty},
                           {"x-amz-date", date}},
                          empty};
    CHECK(podflow::datastore::string_to_sign(request, date, "us-east-1", "s3") ==
          "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
          "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK(signature(request) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  }
  SUBCASE("PUT Object: a key with '$' is percent-encoded") {
    const std::string payload = podflow::datastore::sha256_hex("Welcome to Amazon S3.");
    CHECK(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    SignedRequest request{"PUT",
                          podflow::datastore::uri_encode_path("/test$file.text"),
                          {},
                          {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-date", date},
                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"x-amz-content-sha256", payload}},
                          payload};
    CHECK(request.encoded_path == "/test%24file.text");
    CHECK(signature(request) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  }
  SUBCASE("GET Bucket lifecycle: a query parameter without a value") {
    SignedRequest request{"GET",
                          "/",
                          {{"lifecycle", ""}},
                          {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"x-amz-date", date},
                           {"x-amz-content-sha256", empty}},
                          empty};
    CHECK(signature(request) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  }
  SUBCASE("GET Bucket (list objects)") {
    SignedRequest request{"GET",
                          "/",
                          {{"prefix", "J"}, {"max-keys", "2"}},
                          {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"x-amz-date", date},
                           {"x-amz-content-sha256", empty}},
                          empty};
    CHECK(signature(request) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  }
}

TEST_CASE("sigv4 encodes keys with spaces, unicode and reserved characters") {
  using podflow::datastore::uri_encode;
  using podflow::datastore::uri_encode_path;
  CHECK(uri_encode_path("/bucket/a b/ü/x+y=z&w") == "/bucket/a%20b/%C3%BC/x%2By%3Dz%26w");
  CHECK(uri_encode_path("/bucket//a/./b") == "/bucket//a/./b");  // S3 keys are not normalized
  CHECK(uri_encode("a/b c~") == "a%2Fb%20c~");
  CHECK(podflow::datastore::canonical_query_string(
            {{"prefix", "a b/"}, {"list-type", "2"}, {"continuation-token", "x+y="}}) ==
        "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F");
}

TEST_CASE("sigv4 formats x-amz-date in UTC") {
  CHECK(podflow::datastore::amz_date(0) == "19700101T000000Z");
  CHECK(podflow::datastore::amz_date(1440938160) == "20150830T123600Z");
}

TEST_CASE("sigv4 authorization header never contains the secret key") {
  const SignedRequest request{
      "GET", "/", {}, {{"host", "h"}, {"x-amz-date", "20150830T123600Z"}}, "UNSIGNED-PAYLOAD"};
  const std::string header = podflow::datastore::authorization_header(
      request, "20150830T123600Z", "us-east-1", "s3", kSuiteCredentials);
  CHECK(header.find(kSuiteCredentials.secret_access_key) == std::string::npos);
  CHECK(header.find("AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request") != std::string::npos);
}

TEST_CASE("sigv4's HMAC-SHA256 matches RFC 4231, keys shorter and longer than a block") {
  using podflow::datastore::hex;
  using podflow::datastore::hmac_sha256;
  CHECK(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex(hmac_sha256(std::string(131, '\xaa'),
                        "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hex(hmac_sha256(std::string(64, '\xaa'), "x")) ==  // exactly one block: not hashed
        "ce3c639dcb9d8baae5d44c3b8b5e233faab4d1860e07489af5c84f213998bd79");
}
