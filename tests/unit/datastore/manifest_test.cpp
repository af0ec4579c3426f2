#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "datastore/manifest.hpp"

using podflow::datastore::Manifest;
using podflow::datastore::manifest_from_json;
using podflow::datastore::manifest_to_json;
using podflow::datastore::ManifestError;

namespace {

Manifest sample_manifest() {
  Manifest manifest;
  manifest.id = {"fanout", "15", "start", "start", 2};
  manifest.artifacts["items"] = {std::string(64, 'a'), 12};
  manifest.artifacts["model/weights.bin"] = {std::string(64, 'b'), 1ull << 40};
  manifest.foreach = podflow::datastore::ForeachIndex{"items", 3, std::string(64, 'c')};
  manifest.startedAt = "2026-11-21T16:25:47.120Z";
  manifest.finishedAt = "2026-11-21T16:25:48.004Z";
  manifest.exitCode = 0;
  return manifest;
}

}  // namespace

TEST_CASE("a manifest survives a JSON round trip") {
  const Manifest manifest = sample_manifest();
  CHECK(manifest_from_json(manifest_to_json(manifest)) == manifest);
  Manifest plain = manifest;
  plain.foreach.reset();
  CHECK(manifest_from_json(manifest_to_json(plain)) == plain);
}

TEST_CASE("a manifest's JSON has the documented field names") {
  const auto document = nlohmann::json::parse(manifest_to_json(sample_manifest()));
  CHECK(document["flow"] == "fanout");
  CHECK(document["run"] == "15");
  CHECK(document["step"] == "start");
  CHECK(document["task"] == "start");
  CHECK(document["attempt"] == 2);
  CHECK(document["artifacts"]["model/weights.bin"]["size"] == 1ull << 40);
  CHECK(document["foreach"]["artifact"] == "items");
  CHECK(document["foreach"]["count"] == 3);
  CHECK(document["startedAt"] == "2026-11-21T16:25:47.120Z");
  CHECK(document["exitCode"] == 0);
}

TEST_CASE("a malformed manifest is refused with the field named") {
  auto document = nlohmann::json::parse(manifest_to_json(sample_manifest()));
  document["artifacts"]["items"]["sha256"] = "not-a-hash";
  CHECK_THROWS_WITH_AS(manifest_from_json(document.dump()),
                       doctest::Contains("artifacts.items.sha256"), ManifestError);
  document = nlohmann::json::parse(manifest_to_json(sample_manifest()));
  document.erase("run");
  CHECK_THROWS_WITH_AS(manifest_from_json(document.dump()), doctest::Contains("'run'"),
                       ManifestError);
  CHECK_THROWS_AS(manifest_from_json("{"), ManifestError);
  CHECK_THROWS_AS(manifest_from_json("[]"), ManifestError);
}
