#include <doctest/doctest.h>

#include "flow/quantity.hpp"

using podflow::flow::parse_quantity;

TEST_CASE("quantities parse as Kubernetes writes them") {
  CHECK(parse_quantity("500m")->value == doctest::Approx(0.5));
  CHECK(parse_quantity("2")->value == doctest::Approx(2));
  CHECK(parse_quantity("1.5")->value == doctest::Approx(1.5));
  CHECK(parse_quantity("60Gi")->value == doctest::Approx(60.0 * 1024 * 1024 * 1024));
  CHECK(parse_quantity("4096M")->value == doctest::Approx(4096e6));
  CHECK(parse_quantity("1Ki")->value == doctest::Approx(1024));
  CHECK(parse_quantity("1e3")->value == doctest::Approx(1000));
  CHECK(parse_quantity("2E")->value == doctest::Approx(2e18));  // exa, not an exponent
  CHECK(parse_quantity("-1")->value == doctest::Approx(-1));
  CHECK(parse_quantity("60Gi")->text == "60Gi");
}

TEST_CASE("malformed quantities are refused") {
  for (const char* text : {"", "lots", "Gi", "1.2.3", "1GB", "1 Gi", "0x10", ".", "1e", "--1"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_quantity(text).has_value());
  }
}

TEST_CASE("Metaflow megabytes become the quantity its Kubernetes plugin writes") {
  const auto quantity = podflow::flow::quantity_from_megabytes(60000);
  CHECK(quantity.text == "60000M");
  CHECK(quantity.value == doctest::Approx(6e10));
}
