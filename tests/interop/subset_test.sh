#!/usr/bin/env bash
# Sluice's Envoy proto subset (proto/envoy, proto/google) against the full
# upstream .proto files shipped in @grpc/grpc-js-xds: every field and enum
# number must match (proto/envoy/check_subset.py).
#
# Usage: subset_test.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/npm_setup.sh" || exit 1
deps=$here/node_modules/@grpc/grpc-js-xds/deps
exec timeout 60 python3 "$here/../../proto/envoy/check_subset.py" "$deps/envoy-api" "$deps/googleapis"
