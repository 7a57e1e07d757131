#!/bin/bash
# The dp/cp contract (STYLE.md): cp/ sees the data plane only through
# dp/api/, the data plane never touches gRPC or protobuf, and DPDK headers
# stay out of cp/.
set -u
root=${1:?usage: layering_test.sh SOURCE_ROOT}
cd "$root" || exit 2
fail=0

bad=$(grep -rnE '#include[[:space:]]+"dp/' cp | grep -v '"dp/api/')
if [ -n "$bad" ]; then
  echo "cp/ includes data-plane headers outside dp/api/:"
  echo "$bad"
  fail=1
fi
bad=$(grep -rnE '#include[[:space:]]+<rte_' cp)
if [ -n "$bad" ]; then
  echo "cp/ includes DPDK headers:"
  echo "$bad"
  fail=1
fi
bad=$(grep -rnE '#include[[:space:]]+[<"](grpc|google/protobuf)' dp)
if [ -n "$bad" ]; then
  echo "dp/ includes gRPC or protobuf:"
  echo "$bad"
  fail=1
fi
bad=$(grep -rnE 'grpc|protobuf' dp/meson.build)
if [ -n "$bad" ]; then
  echo "dp/meson.build links gRPC or protobuf:"
  echo "$bad"
  fail=1
fi
# Pure files of the data plane stay free of DPDK.
bad=$(grep -nE '#include[[:space:]]+<rte_' dp/parse.* dp/checksum.* dp/eth.h dp/types.cc dp/counters.cc dp/api/*.h)
if [ -n "$bad" ]; then
  echo "pure data-plane files include DPDK:"
  echo "$bad"
  fail=1
fi
[ "$fail" = 0 ] && echo "layering: ok"
exit "$fail"
