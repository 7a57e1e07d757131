#!/usr/bin/env bash
# conf/sluiced.service passes `systemd-analyze verify` with no complaint about
# it, its Exec paths pointed at the built sluiced and sluicectl (verify
# checks that they exist), and keeps the settings DPDK and the admin socket
# need. Exits 77 (skip) without systemd-analyze.
#
# Usage: systemd_unit_test.sh UNIT SLUICED SLUICECTL
set -uo pipefail

unit=${1:?usage: systemd_unit_test.sh UNIT SLUICED SLUICECTL}
sluiced=${2:?usage: systemd_unit_test.sh UNIT SLUICED SLUICECTL}
ctl=${3:?usage: systemd_unit_test.sh UNIT SLUICED SLUICECTL}
if ! command -v systemd-analyze >/dev/null; then
  echo "skip: systemd-analyze is not installed"
  exit 77
fi
# For fail, pass and need_executables.
# shellcheck source=tests/netns/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
need_executables "$sluiced" "$ctl"
tmp=$(mktemp -d /tmp/sluice-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

sed -e "s|/usr/local/bin/sluiced|$(realpath "$sluiced")|g" \
  -e "s|/usr/local/bin/sluicectl|$(realpath "$ctl")|g" "$unit" >"$tmp/sluiced.service"
timeout 60 systemd-analyze verify "$tmp/sluiced.service" >"$tmp/out" 2>&1
rc=$?
# Complaints about the unit name it; other units' (the host's) are not ours.
if ((rc == 0)) && ! grep -q 'sluiced.service' "$tmp/out"; then
  pass "systemd-analyze verify: clean"
else
  fail "systemd-analyze verify (exit $rc):"$'\n'"$(cat "$tmp/out")"
fi

# What sluiced needs of its unit, each a line a later edit could drop.
for line in Type=simple Restart=on-failure RuntimeDirectory=sluice LimitMEMLOCK=infinity \
  'ExecReload=/usr/local/bin/sluicectl --socket /run/sluice/admin.sock'; do
  if grep -q "^$line" "$unit"; then
    pass "has $line"
  else
    fail "lacks $line"
  fi
done
for cap in CAP_IPC_LOCK CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_RAWIO; do
  if grep -q "^CapabilityBoundingSet=.*$cap" "$unit" && grep -q "^AmbientCapabilities=.*$cap" "$unit"; then
    pass "keeps $cap"
  else
    fail "drops $cap"
  fi
done
# The socket sluicectl defaults to is the one the unit's runtime dir holds.
if "$ctl" --help | grep -q '/run/sluice/admin.sock'; then
  pass "sluicectl's default socket is /run/sluice/admin.sock"
else
  fail "sluicectl's default socket is not /run/sluice/admin.sock"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
