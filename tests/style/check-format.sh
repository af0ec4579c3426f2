#!/usr/bin/env bash
# Fails when a C++ source differs from what clang-format (with the root .clang-format) would write.
# Fix with: tests/style/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t sources < <(find flow datastore runtime kube pod runner cli operator sdk examples bench tests \
  \( -name '*.cpp' -o -name '*.hpp' \) -not -path '*/build*' 2>/dev/null | sort)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${sources[@]}"
  exit 0
fi
clang-format --dry-run -Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files formatted"
