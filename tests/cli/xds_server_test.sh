#!/usr/bin/env bash
# sluice-xds's command line: usage errors exit 2; a services file that does
# not load at start exits 1 with FILE:LINE; then, serving a temp services
# file on a unix socket (polled every 100 ms): the version line of the first
# snapshot, the next version when the file is rewritten, an identical
# rewrite that makes no new version, a bad file that prints its errors and
# keeps the old snapshot (and a good one after it that makes the next
# version), SIGTERM stopping it with exit 0 and the socket removed. A second
# run on 127.0.0.1 port 0 prints the port it picked. With node and
# tests/interop's npm packages, a client on the full upstream Envoy protos
# (xds_client.js) checks what it decodes, and the ACK and NACK lines
# sluice-xds prints for it.
#
# Usage: xds_server_test.sh SLUICE_XDS. Needs neither root nor DPDK.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/../netns/lib.sh"
xds=${1:?usage: xds_server_test.sh SLUICE_XDS}
need_executables "$xds"

failures=0
tmp=$(mktemp -d /tmp/sluice-xds-cli.XXXXXX)
pid=""
cleanup() {
  [[ -z $pid ]] || sluiced_stop "$pid" TERM 5
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

services=$tmp/services.conf
log=$tmp/xds.log

# write_services WEB_ENDPOINTS [PORT]: two services, web with WEB_ENDPOINTS
# endpoints; PORT is web's port (default 80). Written aside and renamed in,
# as editors do, so the server never reads a half-written file.
write_services() {
  local n=$1 port=${2:-80} i eps=""
  for ((i = 1; i <= n; i++)); do
    eps+="{ address = \"10.244.0.1$i\"; port = 8080; },"
  done
  cat >"$services.new" <<EOF
services = (
  { vip = "10.96.0.10"; port = $port; protocol = "tcp";
    endpoints = ( ${eps%,} ); },
  { vip = "10.96.0.53"; port = 53; protocol = "udp"; algorithm = "random";
    endpoints = ( { address = "10.244.0.21"; port = 5353; } ); }
);
EOF
  mv "$services.new" "$services"
}

# expect_line REGEX WHAT: the log gets a line matching REGEX within 10 s.
expect_line() {
  if sluiced_wait_line "$log" "$1" "$pid" 10; then
    pass "$2: $(grep -E -- "$1" "$log" | tail -1)"
  else
    fail "$2: no line matching '$1' in:"
    cat "$log"
  fi
}

# Usage errors.
timeout 10 "$xds" >"$tmp/out" 2>&1
rc=$?
if ((rc == 2)) && grep -q -- "--services is required" "$tmp/out"; then
  pass "no --services: exit 2, $(head -1 "$tmp/out")"
else
  fail "no --services: exit $rc, $(cat "$tmp/out")"
fi
write_services 2
timeout 10 "$xds" --services "$services" --tls-cert "$tmp/cert.pem" >"$tmp/out" 2>&1
rc=$?
if ((rc == 2)) && grep -q -- "--tls-key" "$tmp/out"; then
  pass "--tls-cert without --tls-key: exit 2"
else
  fail "--tls-cert without --tls-key: exit $rc, $(cat "$tmp/out")"
fi

# A services file that does not load at start.
printf 'services = (\n  { vip = "10.96.0.10"; port = 0; protocol = "tcp"; endpoints = (); }\n);\n' \
  >"$tmp/bad.conf"
timeout 10 "$xds" --services "$tmp/bad.conf" --listen "unix:$tmp/unused.sock" >"$tmp/out" 2>&1
rc=$?
if ((rc == 1)) && grep -q "^sluice-xds: $tmp/bad.conf:2: services.\[0\].port: must be 1..65535$" \
  "$tmp/out"; then
  pass "bad file at start: exit 1, $(cat "$tmp/out")"
else
  fail "bad file at start: exit $rc, $(cat "$tmp/out")"
fi

# Serving, reloading, keeping the last good snapshot.
socket=$tmp/xds.sock
"$xds" --services "$services" --listen "unix:$socket" --poll-ms 100 >"$log" 2>&1 &
pid=$!
expect_line "^sluice-xds: serving $services on unix:$socket " "serving"
expect_line "^sluice-xds: version 1: 2 services, 3 endpoints$" "first snapshot"
if [[ -S $socket ]]; then
  pass "socket $socket is there"
else
  fail "no socket at $socket"
fi

# A client on the full upstream protos (tests/interop's npm packages):
# what it decodes, and sluice-xds's lines for its ACKs and NACK.
if ! command -v node >/dev/null || [[ ! -d $here/../interop/node_modules/@grpc/grpc-js-xds ]]; then
  echo "skip: upstream-proto client: needs node and tests/interop's npm packages (tools/install-deps)"
else
  timeout 30 node "$here/xds_client.js" "unix:$socket" 10.96.0.10:80/tcp 2 10.96.0.53:53/udp \
    >"$tmp/client.out" 2>&1
  count_verdicts "$tmp/client.out"
  expect_line "^sluice-xds: stream 1 \(sotw, node cli-node\): opened$" "stream opened"
  expect_line "^sluice-xds: stream 1 \(sotw, node cli-node\): ACK lds version 1 nonce 1$" "ACK line"
  expect_line "^sluice-xds: stream 1 \(sotw, node cli-node\): NACK cds nonce 2 \(keeps no version\): cli test refuses this$" \
    "NACK line"
  expect_line "^sluice-xds: stream 2 \(delta, node cli-node\): ACK eds version 1 nonce 1$" \
    "delta ACK line"
  expect_line "^sluice-xds: stream 2 \(delta, node cli-node\): closed$" "stream closed"
fi

write_services 3
expect_line "^sluice-xds: version 2: 2 services, 4 endpoints$" "rewritten file"

write_services 3
expect_line "^sluice-xds: $services changed, resources did not: still version 2$" \
  "identical rewrite"

printf 'services = (\n  { vip = "10.96.0.10"; port = 80; protocol = "tcp";\n    endpoints = ( { address = "10.244.0.11"; port = 8080; weight = 0; } ); }\n);\n' \
  >"$services.new"
mv "$services.new" "$services"
expect_line "^sluice-xds: $services not loaded, keeping version 2:$" "bad file keeps version 2"
expect_line "^$services:3: services.\[0\].endpoints.\[0\].weight: 0 is not a valid weight" \
  "bad file's error"

write_services 1 8080
expect_line "^sluice-xds: version 3: 2 services, 2 endpoints$" "good file after the bad one"
if grep -q "^sluice-xds: version [4-9]" "$log"; then
  fail "versions beyond 3: $(grep '^sluice-xds: version' "$log")"
fi

if sluiced_stop "$pid" TERM 5 && ((sluiced_rc == 0)); then
  pass "SIGTERM: exit 0"
else
  fail "SIGTERM: exit $sluiced_rc (or not stopped within 5 s)"
fi
pid=""
expect_line "^sluice-xds: stopping on SIGTERM$" "stop line"
if [[ -e $socket ]]; then
  fail "socket $socket left behind"
else
  pass "socket removed"
fi

# TCP on a port the kernel picks.
"$xds" --services "$services" --listen 127.0.0.1:0 --poll-ms 100 >"$log" 2>&1 &
pid=$!
expect_line "^sluice-xds: serving $services on 127\.0\.0\.1:[1-9][0-9]* " "TCP port 0"
expect_line "^sluice-xds: version 1: 2 services, 2 endpoints$" "TCP first snapshot"
sluiced_stop "$pid" INT 5
pid=""
if ((sluiced_rc == 0)) && grep -q "^sluice-xds: stopping on SIGINT$" "$log"; then
  pass "SIGINT: exit 0"
else
  fail "SIGINT: exit $sluiced_rc; $(tail -2 "$log")"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
