// Resource amounts as users write them: Metaflow's integers (megabytes for memory and disk) or
// Kubernetes quantity strings ("60Gi", "500m").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace podflow::flow {

// A parsed amount. `text` is the Kubernetes quantity that goes on the pod unchanged, so what lands
// on the cluster is exactly what the user wrote; `value` is the amount in base units (cores or
// bytes) for comparisons such as "does this machine have that much memory".
struct Quantity {
  std::string text;
  double value = 0;
};

// Parses a Kubernetes quantity: a decimal number (optional sign and exponent) followed by an
// optional suffix n u m k M G T P E Ki Mi Gi Ti Pi Ei. Returns nullopt when it is not one.
std::optional<Quantity> parse_quantity(std::string_view text);

// Metaflow's integer megabytes, as its Kubernetes plugin passes them ("4096M").
Quantity quantity_from_megabytes(long long megabytes);

// Formats a byte count for messages: "64.0 GiB".
std::string describe_bytes(double bytes);

}  // namespace podflow::flow
