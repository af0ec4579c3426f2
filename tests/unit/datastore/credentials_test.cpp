// The credential chain without a network: its order, what each source says when it has nothing,
// the shared files' profiles, messages that never hold a secret, and the refresh cache. The
// sources that talk HTTP (STS, container credentials, IMDSv2) are run against real servers in
// tests/s3/credentials_*.sh; here they only meet a closed port.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "datastore/aws_credentials.hpp"
#include "datastore/container_credentials.hpp"
#include "datastore/credential_chain.hpp"
#include "datastore/instance_metadata_credentials.hpp"
#include "datastore/profile_credentials.hpp"
#include "datastore/refreshing_credentials.hpp"
#include "datastore/store_error.hpp"
#include "datastore/sts_client.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::AwsCredentials;
using podflow::datastore::environment_from;
using podflow::datastore::resolve_aws_credentials;
using podflow::datastore::StoreError;
using podflow::datastore::WallClock;
using podflow::testing::contains_text;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A loopback port nothing listens on: connections are refused at once.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string what_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const StoreError& error) {
    return error.what();
  }
  FAIL("no StoreError was thrown");
  return "";
}

// Nothing configured, IMDS off: every source has nothing.
std::map<std::string, std::string> bare(const std::filesystem::path& home) {
  return {{"HOME", home.string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
}

}  // namespace

TEST_CASE("credential chain: the SDKs' order, first configured source wins") {
  podflow::testing::ScratchDirectory scratch;
  write_text(scratch / "home/.aws/credentials",
             "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=file-secret\n");
  auto variables = bare(scratch / "home");
  // Environment keys come before web identity (which would need STS), and before the file.
  variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  variables["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
  variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = (scratch / "missing-token").string();
  CHECK(resolve_aws_credentials(environment_from(variables)).keys.access_key_id == "AKIDENV");

  // Without them, web identity is next: it is configured, so its failure stops the chain (the
  // file below would otherwise hide the misconfiguration), and the message says what came before.
  variables.erase("AWS_ACCESS_KEY_ID");
  variables.erase("AWS_SECRET_ACCESS_KEY");
  const std::string message =
      what_of([&] { resolve_aws_credentials(environment_from(variables)); });
  CHECK(message.find("cannot get S3 credentials from web identity") != std::string::npos);
  CHECK(message.find("cannot read the web identity token file") != std::string::npos);
  CHECK(message.find("environment: AWS_ACCESS_KEY_ID is not set") != std::string::npos);

  // AWS_ROLE_ARN alone is not web identity: the shared file answers.
  variables.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  const auto from_file = resolve_aws_credentials(environment_from(variables));
  CHECK(from_file.keys.access_key_id == "AKIDFILE");
  CHECK_FALSE(from_file.expiration.has_value());

  // A token file without a role is an error naming the fix.
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(environment_from(
                           {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/x"}, {"HOME", "/nonexistent"}})),
                       contains_text("AWS_ROLE_ARN is not"), StoreError);
}

TEST_CASE("credential chain: with nothing configured, every source says why it had nothing") {
  podflow::testing::ScratchDirectory scratch;
  const std::string message =
      what_of([&] { resolve_aws_credentials(environment_from(bare(scratch / "nowhere"))); });
  for (const char* expected :
       {"secret directory: PODFLOW_S3_CREDENTIALS_DIR is not set",
        "environment: AWS_ACCESS_KEY_ID is not set",
        "web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set",
        "shared config/credentials files: neither",
        "container credentials: "
        "AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set",
        "EC2 instance metadata (IMDSv2): AWS_EC2_METADATA_DISABLED=true"}) {
    CHECK_MESSAGE(message.find(expected) != std::string::npos, expected);
  }

  // IMDS at a closed port is "not available", not a failure: the chain ends with the list.
  auto variables = bare(scratch / "nowhere");
  variables["AWS_EC2_METADATA_DISABLED"] = "false";
  variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"] =
      "http://127.0.0.1:" + std::to_string(closed_port());
  const std::string imds = what_of([&] { resolve_aws_credentials(environment_from(variables)); });
  CHECK(imds.find("no S3 credentials found") != std::string::npos);
  CHECK(imds.find("IMDSv2 at http://127.0.0.1:") != std::string::npos);
  CHECK(imds.find("did not answer") != std::string::npos);
}

TEST_CASE("credential chain: failures name the source and endpoint, never the secret") {
  podflow::testing::ScratchDirectory scratch;
  write_text(scratch / "token", "eyJhbGciOiJSUzI1NiJ9.secret-token-payload.sig\n");
  const std::string sts = "http://127.0.0.1:" + std::to_string(closed_port());
  auto variables = bare(scratch / "home");
  variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/podflow";
  variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = (scratch / "token").string();
  variables["AWS_ENDPOINT_URL_STS"] = sts;
  const std::string message =
      what_of([&] { resolve_aws_credentials(environment_from(variables)); });
  CHECK(message.find("STS AssumeRoleWithWebIdentity at " + sts + " (AWS_ENDPOINT_URL_STS)") !=
        std::string::npos);
  CHECK(message.find("arn:aws:iam::123456789012:role/podflow") != std::string::npos);
  CHECK(message.find("secret-token-payload") == std::string::npos);

  // Container credentials: plain http only to loopback or the agents' addresses; the token is
  // never shown.
  auto container = bare(scratch / "home");
  container["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://10.1.2.3/creds";
  container["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-secret-token";
  const std::string refused =
      what_of([&] { resolve_aws_credentials(environment_from(container)); });
  CHECK(refused.find("must be on a loopback address") != std::string::npos);
  CHECK(refused.find("container-secret-token") == std::string::npos);
  container["AWS_CONTAINER_CREDENTIALS_FULL_URI"] =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/creds";
  const std::string unreachable =
      what_of([&] { resolve_aws_credentials(environment_from(container)); });
  CHECK(unreachable.find("cannot get S3 credentials from container credentials") !=
        std::string::npos);
  CHECK(unreachable.find("failed 3 times") != std::string::npos);
  CHECK(unreachable.find("container-secret-token") == std::string::npos);

  using podflow::datastore::is_allowed_container_http_host;
  CHECK(is_allowed_container_http_host("127.0.0.1"));
  CHECK(is_allowed_container_http_host("169.254.170.23"));
  CHECK(is_allowed_container_http_host("[fd00:ec2::23]"));
  CHECK_FALSE(is_allowed_container_http_host("127.0.0.1.evil.example"));
  CHECK_FALSE(is_allowed_container_http_host("169.254.169.254"));
}

TEST_CASE("shared files: profiles merge config under credentials, roles need one source") {
  podflow::testing::ScratchDirectory scratch;
  write_text(scratch / "credentials",
             "[base]\naws_access_key_id=AKIDBASE\naws_secret_access_key=base-secret\n"
             "[dev]\naws_access_key_id=AKIDDEV\n");
  write_text(scratch / "config",
             "[default]\nregion=eu-west-1\n"
             "[profile dev]\naws_access_key_id=AKIDCONFIG\naws_secret_access_key=dev-secret\n"
             "[profile two-ways]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=base\n"
             "web_identity_token_file=/t\n"
             "[profile orphan]\nrole_arn=arn:aws:iam::1:role/r\n"
             "[profile loop-a]\nrole_arn=arn:aws:iam::1:role/a\nsource_profile=loop-b\n"
             "[profile loop-b]\nrole_arn=arn:aws:iam::1:role/b\nsource_profile=loop-a\n"
             "[profile process]\ncredential_process=/bin/creds\n"
             "[profile lost]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=nobody\n"
             "[profile bad-source]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=Moon\n");
  auto variables = bare(scratch / "home");
  variables["AWS_SHARED_CREDENTIALS_FILE"] = (scratch / "credentials").string();
  variables["AWS_CONFIG_FILE"] = (scratch / "config").string();
  const auto with_profile = [&](const std::string& profile) {
    auto copy = variables;
    copy["AWS_PROFILE"] = profile;
    return environment_from(copy);
  };

  // The credentials file's key id wins over the config file's; the secret comes from config.
  const auto dev = resolve_aws_credentials(with_profile("dev"));
  CHECK(dev.keys.access_key_id == "AKIDDEV");
  CHECK(dev.keys.secret_access_key == "dev-secret");

  // [default] of the config holds only a region: the chain goes on past the files.
  const std::string none = what_of([&] { resolve_aws_credentials(environment_from(variables)); });
  CHECK(none.find("shared config/credentials files: profile default has no credentials") !=
        std::string::npos);

  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("two-ways")),
                       contains_text("role_arn needs exactly one of source_profile, "
                                     "web_identity_token_file or credential_source (it has 2)"),
                       StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("orphan")), contains_text("(it has 0)"),
                       StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("loop-a")),
                       contains_text("source_profile cycle"), StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("process")),
                       contains_text("credential_process is not supported"), StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("lost")),
                       contains_text("source_profile nobody is in neither file"), StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("bad-source")),
                       contains_text("credential_source='Moon' is not one of"), StoreError);
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(with_profile("absent")),
                       contains_text("no profile absent in"), StoreError);
  variables["AWS_CONFIG_FILE"] = (scratch / "no-such-config").string();
  CHECK_THROWS_WITH_AS(resolve_aws_credentials(environment_from(variables)),
                       contains_text("(AWS_CONFIG_FILE): fix the path or unset AWS_CONFIG_FILE"),
                       StoreError);
}

TEST_CASE("shared files: a role profile reaches STS with its source profile's keys") {
  podflow::testing::ScratchDirectory scratch;
  const std::string sts = "http://127.0.0.1:" + std::to_string(closed_port());
  write_text(scratch / "config",
             "[profile base]\naws_access_key_id=AKIDBASE\naws_secret_access_key=base-secret\n"
             "[profile ci]\nrole_arn=arn:aws:iam::1:role/ci\nsource_profile=base\n"
             "region=ap-south-1\nexternal_id=x\n");
  auto variables = bare(scratch / "home");
  variables["AWS_CONFIG_FILE"] = (scratch / "config").string();
  variables["AWS_PROFILE"] = "ci";
  variables["AWS_ENDPOINT_URL_STS"] = sts;
  const std::string message =
      what_of([&] { resolve_aws_credentials(environment_from(variables)); });
  CHECK(message.find("STS AssumeRole at " + sts) != std::string::npos);
  CHECK(message.find("role arn:aws:iam::1:role/ci") != std::string::npos);
  CHECK(message.find("base-secret") == std::string::npos);

  // Without an endpoint variable: the profile's region picks AWS's regional endpoint.
  const auto endpoint = podflow::datastore::sts_endpoint(
      environment_from({{"AWS_REGION", "us-west-2"}}), std::string("ap-south-1"));
  CHECK(endpoint.url == "https://sts.ap-south-1.amazonaws.com");
  CHECK(podflow::datastore::sts_endpoint(environment_from({{"AWS_REGION", "us-west-2"}})).url ==
        "https://sts.us-west-2.amazonaws.com");
  CHECK(podflow::datastore::sts_endpoint(
            environment_from({{"AWS_ENDPOINT_URL", "http://minio:9000"}}))
            .url == "http://minio:9000");
  CHECK_THROWS_WITH_AS(
      podflow::datastore::sts_endpoint(environment_from({{"AWS_ENDPOINT_URL_STS", "minio:9000"}})),
      contains_text("invalid AWS_ENDPOINT_URL_STS"), StoreError);
}

TEST_CASE("expiration times: ISO 8601 in UTC as STS, ECS and IMDS write them") {
  using podflow::datastore::parse_iso8601_utc;
  const auto epoch_seconds = [](const std::string& text) {
    return std::chrono::duration_cast<std::chrono::seconds>(
               parse_iso8601_utc(text).value().time_since_epoch())
        .count();
  };
  CHECK(epoch_seconds("2026-12-07T06:30:00Z") == 1796625000);
  CHECK(epoch_seconds("2026-12-07T06:30:00.123Z") == 1796625000);
  CHECK(epoch_seconds("2026-12-07T06:30:00+00:00") == 1796625000);
  CHECK_FALSE(parse_iso8601_utc("2026-12-07 06:30:00Z"));
  CHECK_FALSE(parse_iso8601_utc("2026-12-07T06:30:00+02:00"));
  CHECK_FALSE(parse_iso8601_utc("2026-13-07T06:30:00Z"));
  CHECK_FALSE(parse_iso8601_utc(""));

  const auto parsed = podflow::datastore::credentials_from_json(
      R"({"AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t",)"
      R"("Expiration":"2026-12-07T06:30:00Z","Code":"Success"})",
      "test", "test source");
  CHECK(parsed.keys.session_token == "t");
  CHECK(parsed.expiration.has_value());
  CHECK_THROWS_WITH_AS(
      podflow::datastore::credentials_from_json(R"({"message":"role not found"})", "IMDS", "x"),
      contains_text("(it says: role not found)"), StoreError);
}

TEST_CASE("refreshing credentials: fetched again within the window, once, by one thread") {
  using podflow::datastore::RefreshingCredentials;
  std::atomic<int> fetches{0};
  std::atomic<int> lifetime_seconds{100};
  std::atomic<bool> failing{false};
  const auto resolve = [&] {
    if (failing) throw StoreError("the source is down");
    const int n = ++fetches;
    return AwsCredentials{{"ASIA" + std::to_string(n), "secret", "token" + std::to_string(n)},
                          "test source",
                          WallClock::now() + std::chrono::seconds(lifetime_seconds.load())};
  };

  // 100 s left, window 30 s: nothing to do.
  RefreshingCredentials relaxed(resolve, std::chrono::seconds(30));
  CHECK(relaxed.current().keys.access_key_id == "ASIA1");
  CHECK(relaxed.refreshes() == 0);

  // 100 s left, window 200 s: stale at once. Many threads ask at once: one refresh, and the
  // others are not held up by it (the old credentials are still valid).
  std::atomic<int> slow_ms{0};
  const auto slow_resolve = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms.load()));
    return resolve();
  };
  fetches = 0;
  RefreshingCredentials eager(slow_resolve, std::chrono::seconds(200));
  CHECK(fetches == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the retry interval
  slow_ms = 1000;
  std::thread refresher([&] { eager.current(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the refresh is under way
  const auto asked = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> saw_old{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (eager.current().keys.access_key_id == "ASIA1") ++saw_old;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::milliseconds(600));
  CHECK(saw_old == 8);
  refresher.join();
  CHECK(eager.refreshes() == 1);
  CHECK(eager.last().keys.access_key_id == "ASIA2");
  slow_ms = 0;

  // A refresh that fails while the credentials are still valid keeps them.
  failing = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(eager.current().keys.access_key_id == "ASIA2");
  CHECK(eager.refreshes() == 1);

  // Once they have expired, the failure is the caller's, naming the source.
  failing = false;
  lifetime_seconds = 1;
  fetches = 0;
  RefreshingCredentials short_lived(resolve, std::chrono::seconds(0));
  failing = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  CHECK_THROWS_WITH_AS(short_lived.current(),
                       contains_text("from test source have expired and cannot be refreshed: "
                                     "the source is down"),
                       StoreError);

  // Long-term keys are never fetched again, and a rejection does not retry them.
  auto fixed = RefreshingCredentials::fixed({{"AKID", "s", ""}, "fixed", std::nullopt});
  CHECK_FALSE(fixed->refresh_after_rejection(fixed->current()));

  // A rejected session token is replaced at once, unless another thread already did.
  failing = false;
  lifetime_seconds = 3600;
  fetches = 0;
  RefreshingCredentials rejected(resolve, std::chrono::seconds(0));
  const auto first = rejected.current();
  CHECK(rejected.refresh_after_rejection(first));
  CHECK(rejected.current().keys.access_key_id == "ASIA2");
  CHECK(rejected.refresh_after_rejection(first));  // stale copy: no second fetch
  CHECK(fetches == 2);

  CHECK_THROWS_WITH_AS(podflow::datastore::credentials_refresh_window(
                           environment_from({{"PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS", "soon"}})),
                       contains_text("invalid PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS"), StoreError);
}
