#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "datastore/aws_credentials.hpp"
#include "datastore/credential_chain.hpp"
#include "datastore/s3_config.hpp"
#include "datastore/s3_retry.hpp"
#include "datastore/s3_xml.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::environment_from;
using podflow::datastore::S3Addressing;
using podflow::datastore::StoreError;
using podflow::testing::contains_text;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("s3 URLs: bucket and prefix") {
  using podflow::datastore::parse_s3_url;
  CHECK(parse_s3_url("s3://my-bucket").bucket == "my-bucket");
  CHECK(parse_s3_url("s3://my-bucket").prefix.empty());
  CHECK(parse_s3_url("s3://my-bucket/").prefix.empty());
  CHECK(parse_s3_url("s3://my-bucket/a/b/").prefix == "a/b");
  CHECK(parse_s3_url("s3://my.bucket/podflow").bucket == "my.bucket");
  CHECK_THROWS_WITH_AS(parse_s3_url("s3://My_Bucket/x"), contains_text("not a bucket name"),
                       StoreError);
  CHECK_THROWS_WITH_AS(parse_s3_url("s3://"), contains_text("s3://bucket/prefix"), StoreError);
  CHECK_THROWS_WITH_AS(parse_s3_url("s3://bucket/a//b"), contains_text("'..' components"),
                       StoreError);
  CHECK_THROWS_WITH_AS(parse_s3_url("s3://bucket/a/../b"), contains_text("'..' components"),
                       StoreError);
}

TEST_CASE("s3 endpoints: override order, http only when asked, ports, base paths") {
  using podflow::datastore::s3_settings_from_environment;
  auto aws = s3_settings_from_environment(environment_from({{"AWS_REGION", "eu-west-1"}}));
  CHECK(aws.endpoint.scheme == "https");
  CHECK(aws.endpoint.host == "s3.eu-west-1.amazonaws.com");
  CHECK(aws.region == "eu-west-1");
  CHECK_FALSE(aws.custom_endpoint);

  auto minio = s3_settings_from_environment(
      environment_from({{"PODFLOW_S3_ENDPOINT", "http://127.0.0.1:27900"},
                        {"AWS_ENDPOINT_URL_S3", "https://ignored"},
                        {"AWS_DEFAULT_REGION", "us-west-2"}}));
  CHECK(minio.endpoint.scheme == "http");
  CHECK(minio.endpoint.host == "127.0.0.1");
  CHECK(minio.endpoint.port == 27900);
  CHECK(minio.region == "us-west-2");
  CHECK(minio.custom_endpoint);

  CHECK(
      s3_settings_from_environment(environment_from({{"AWS_ENDPOINT_URL", "https://r2.example/"}}))
          .endpoint.host == "r2.example");
  const auto behind_proxy = podflow::datastore::parse_s3_endpoint("https://[::1]:9443/s3/", "X");
  CHECK(behind_proxy.host == "[::1]");
  CHECK(behind_proxy.port == 9443);
  CHECK(behind_proxy.base_path == "/s3");
  CHECK_THROWS_WITH_AS(
      s3_settings_from_environment(environment_from({{"PODFLOW_S3_ENDPOINT", "127.0.0.1:9000"}})),
      contains_text("PODFLOW_S3_ENDPOINT='127.0.0.1:9000': it must start with https://"),
      StoreError);
  CHECK_THROWS_WITH_AS(podflow::datastore::parse_s3_endpoint("http://h:99999", "X"),
                       contains_text("bad port"), StoreError);
}

TEST_CASE("s3 transfer and retry settings come from the environment and are checked") {
  using podflow::datastore::s3_settings_from_environment;
  const auto defaults = s3_settings_from_environment(environment_from({}));
  CHECK(defaults.part_size == 8u << 20);
  CHECK(defaults.concurrency == 4);
  CHECK(defaults.retry_seconds == 120);
  const auto tuned =
      s3_settings_from_environment(environment_from({{"PODFLOW_S3_PART_SIZE_MB", "5"},
                                                     {"PODFLOW_S3_CONCURRENCY", "3"},
                                                     {"PODFLOW_S3_RETRY_SECONDS", "7.5"},
                                                     {"AWS_CA_BUNDLE", "/ca.pem"},
                                                     {"PODFLOW_S3_ADDRESSING", "path"}}));
  CHECK(tuned.part_size == 5u << 20);
  CHECK(tuned.concurrency == 3);
  CHECK(tuned.retry_seconds == 7.5);
  CHECK(tuned.ca_bundle == "/ca.pem");
  CHECK(tuned.addressing == S3Addressing::path);
  CHECK_THROWS_WITH_AS(
      s3_settings_from_environment(environment_from({{"PODFLOW_S3_PART_SIZE_MB", "4"}})),
      contains_text("5 to 5120 MiB"), StoreError);
  CHECK_THROWS_WITH_AS(
      s3_settings_from_environment(environment_from({{"PODFLOW_S3_RETRY_SECONDS", "soon"}})),
      contains_text("invalid PODFLOW_S3_RETRY_SECONDS='soon'"), StoreError);
  CHECK_THROWS_WITH_AS(
      s3_settings_from_environment(environment_from({{"PODFLOW_S3_ADDRESSING", "dns"}})),
      contains_text("auto, path or virtual"), StoreError);
}

TEST_CASE(
    "s3 addressing: virtual-hosted on AWS, path-style for custom endpoints and dotted buckets") {
  using podflow::datastore::s3_settings_from_environment;
  using podflow::datastore::s3_target;
  const auto aws = s3_settings_from_environment(environment_from({}));
  auto target = s3_target(aws, "my-bucket");
  CHECK(target.base_url == "https://my-bucket.s3.us-east-1.amazonaws.com");
  CHECK(target.host == "my-bucket.s3.us-east-1.amazonaws.com");
  CHECK(target.path_prefix.empty());
  target = s3_target(aws, "my.bucket");
  CHECK(target.base_url == "https://s3.us-east-1.amazonaws.com");
  CHECK(target.path_prefix == "/my.bucket");

  const auto minio = s3_settings_from_environment(
      environment_from({{"PODFLOW_S3_ENDPOINT", "http://127.0.0.1:27900"}}));
  target = s3_target(minio, "podflow-test");
  CHECK(target.base_url == "http://127.0.0.1:27900");
  CHECK(target.host == "127.0.0.1:27900");
  CHECK(target.path_prefix == "/podflow-test");

  auto forced = minio;
  forced.addressing = S3Addressing::virtual_hosted;
  CHECK(s3_target(forced, "b1b").host == "b1b.127.0.0.1:27900");
}

TEST_CASE("s3 credentials: secret directory, then environment, then the shared file") {
  using podflow::datastore::resolve_aws_credentials;
  podflow::testing::ScratchDirectory scratch;
  write_text(scratch / "secret/AWS_ACCESS_KEY_ID", "AKIDDIR\n");
  write_text(scratch / "secret/AWS_SECRET_ACCESS_KEY", "dir-secret\n");
  write_text(scratch / "home/.aws/credentials",
             "# comment\n[default]\naws_access_key_id = AKIDFILE\n"
             "aws_secret_access_key = file-secret\n\n[dev]\naws_access_key_id=AKIDDEV\n"
             "aws_secret_access_key=dev-secret\naws_session_token=dev-token\n");
  write_text(scratch / "home/.aws/config", "[profile dev]\nregion = ap-south-1\n");
  const std::string home = (scratch / "home").string();

  auto from_dir = resolve_aws_credentials(
      environment_from({{"PODFLOW_S3_CREDENTIALS_DIR", (scratch / "secret").string()},
                        {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                        {"AWS_SECRET_ACCESS_KEY", "env-secret"}}));
  CHECK(from_dir.keys.access_key_id == "AKIDDIR");
  CHECK(from_dir.keys.secret_access_key == "dir-secret");
  CHECK(from_dir.source.find("PODFLOW_S3_CREDENTIALS_DIR") != std::string::npos);

  auto from_env = resolve_aws_credentials(environment_from({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                            {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                                            {"AWS_SESSION_TOKEN", "tok"},
                                                            {"HOME", home}}));
  CHECK(from_env.keys.access_key_id == "AKIDENV");
  CHECK(from_env.keys.session_token == "tok");

  auto from_file = resolve_aws_credentials(environment_from({{"HOME", home}}));
  CHECK(from_file.keys.access_key_id == "AKIDFILE");
  CHECK(from_file.source.starts_with("profile default of " + home + "/.aws/credentials"));
  auto dev = resolve_aws_credentials(environment_from({{"HOME", home}, {"AWS_PROFILE", "dev"}}));
  CHECK(dev.keys.session_token == "dev-token");
  CHECK(podflow::datastore::s3_settings_from_environment(
            environment_from({{"HOME", home}, {"AWS_PROFILE", "dev"}}))
            .region == "ap-south-1");

  CHECK_THROWS_WITH_AS(
      resolve_aws_credentials(environment_from(
          {{"HOME", (scratch / "nowhere").string()}, {"AWS_EC2_METADATA_DISABLED", "true"}})),
      contains_text("no S3 credentials found (tried secret directory"), StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(environment_from({{"AWS_ACCESS_KEY_ID", "x"}})),
                       contains_text("AWS_SECRET_ACCESS_KEY is not set"), StoreError);
  CHECK_THROWS_WITH_AS(
      resolve_aws_credentials(
          environment_from({{"PODFLOW_S3_CREDENTIALS_DIR", (scratch / "home").string()}})),
      contains_text("needs non-empty files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
      StoreError);
  CHECK_THROWS_WITH_AS(
      resolve_aws_credentials(environment_from({{"HOME", home}, {"AWS_PROFILE", "prod"}})),
      contains_text("no profile prod"), StoreError);
}

TEST_CASE("s3 XML: errors, listings with url-encoded keys, entities") {
  using podflow::datastore::parse_list_objects_v2;
  using podflow::datastore::parse_s3_error;
  const auto error = parse_s3_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "key &lt;x&gt; &amp; &#233;&#x1F680; is gone</Message><Key>x</Key></Error>");
  CHECK(error.code == "NoSuchKey");
  CHECK(error.message == "The key <x> & \xC3\xA9\xF0\x9F\x9A\x80 is gone");

  const auto page = parse_list_objects_v2(
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<IsTruncated>true</IsTruncated><Contents><Key>p/a+b%2Bc%20d%C3%BC</Key>"
      "<LastModified>2026-11-21T00:00:00Z</LastModified><Size>42</Size></Contents>"
      "<Contents><Key>p/z</Key><Size>0</Size></Contents>"
      "<NextContinuationToken>tok&amp;en==</NextContinuationToken></ListBucketResult>");
  REQUIRE(page.objects.size() == 2);
  CHECK(page.objects[0].key == "p/a b+c d\xC3\xBC");
  CHECK(page.objects[0].size == 42);
  CHECK(page.objects[1].key == "p/z");
  CHECK(page.truncated);
  CHECK(page.next_continuation_token == "tok&en==");
  CHECK_THROWS_AS(parse_list_objects_v2("<Error><Code>x</Code></Error>"), StoreError);
}

TEST_CASE("s3 retries: which answers, and backoff with jitter within bounds") {
  using podflow::datastore::is_retryable_s3_answer;
  CHECK(is_retryable_s3_answer(503, "SlowDown"));
  CHECK(is_retryable_s3_answer(500, ""));
  CHECK(is_retryable_s3_answer(400, "RequestTimeout"));
  CHECK(is_retryable_s3_answer(409, "ConditionalRequestConflict"));
  CHECK_FALSE(is_retryable_s3_answer(403, "AccessDenied"));
  CHECK_FALSE(is_retryable_s3_answer(404, "NoSuchKey"));
  CHECK_FALSE(is_retryable_s3_answer(412, "PreconditionFailed"));

  const podflow::datastore::RetryBackoff backoff;
  CHECK(backoff.delay(1, 0.0) == doctest::Approx(0.05));
  CHECK(backoff.delay(1, 0.999) == doctest::Approx(0.1).epsilon(0.01));
  CHECK(backoff.delay(4, 0.0) == doctest::Approx(0.4));
  CHECK(backoff.delay(30, 0.0) == doctest::Approx(5));  // capped: [cap/2, cap]
  CHECK(backoff.delay(30, 0.99) <= 10);
}
