#include <doctest/doctest.h>

#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::Sha256;
using podflow::datastore::sha256_file;
using podflow::datastore::sha256_hex;

TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 streams: chunked updates equal one update") {
  Sha256 digest;
  for (int i = 0; i < 1000; ++i) digest.update(std::string(1000, 'a'));
  CHECK(digest.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 of a file reports digest and size") {
  podflow::testing::ScratchDirectory scratch;
  const std::string content(3 * 1024 * 1024 + 7, 'x');  // more than one read chunk
  podflow::testing::write_file(scratch / "big", content);
  const auto digest = sha256_file(scratch / "big");
  CHECK(digest.sha256 == sha256_hex(content));
  CHECK(digest.size == content.size());
  // Small and empty files: the read buffer is sized to the file, and must still see its end.
  for (const std::size_t size : {0, 1, 4095, 4096, 4097}) {
    const std::string small(size, 's');
    podflow::testing::write_file(scratch / "small", small);
    const auto small_digest = sha256_file(scratch / "small");
    CHECK(small_digest.sha256 == sha256_hex(small));
    CHECK(small_digest.size == size);
  }
  CHECK_THROWS_WITH_AS(
      sha256_file(scratch / "missing"),
      podflow::testing::contains_text("cannot read " + (scratch / "missing").string()),
      podflow::datastore::StoreError);
}
