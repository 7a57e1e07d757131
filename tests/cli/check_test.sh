#!/usr/bin/env bash
# sluiced's command line and config errors, without starting DPDK: --check
# accepts the shipped configs and rejects broken ones with FILE:LINE and the
# setting on stderr; a missing file, a bad flag and the default config.
#
# Usage: check_test.sh SLUICED CONF_DIR   (CONF_DIR holds demo.conf, gateway.conf)
set -uo pipefail

sluiced=${1:?usage: check_test.sh SLUICED CONF_DIR}
conf_dir=${2:?usage: check_test.sh SLUICED CONF_DIR}
tmp=$(mktemp -d /tmp/sluice-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  ((failures += 1))
}
pass() { echo "ok: $*"; }

# Runs sluiced with a time limit; leaves exit status in $rc, stdout in
# $tmp/out and stderr in $tmp/err.
run() {
  timeout 20 "$sluiced" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

expect_ok() {
  run --check --config "$1"
  if ((rc == 0)); then
    pass "--check accepts $1"
  else
    fail "--check rejects $1 (exit $rc):"$'\n'"$(cat "$tmp/err")"
  fi
}

# expect_error NAME LINE SETTING: checks that $tmp/NAME.conf is rejected with
# "FILE:LINE" and SETTING (when given) on stderr.
expect_error() {
  local name=$1 line=$2 setting=$3 file=$tmp/$1.conf
  run --check --config "$file"
  local err
  err=$(cat "$tmp/err")
  if ((rc == 0)); then
    fail "$name: --check accepted a broken config"
  elif ((rc >= 124)); then
    fail "$name: sluiced timed out or crashed (exit $rc):"$'\n'"$err"
  elif ! grep -qF "$file:$line" <<<"$err"; then
    fail "$name: stderr does not name $file:$line:"$'\n'"$err"
  elif [[ -n $setting ]] && ! grep -qF "$setting" <<<"$err"; then
    fail "$name: stderr does not name the setting $setting:"$'\n'"$err"
  else
    pass "$name: exit $rc, $(grep -F "$file:$line" <<<"$err" | head -n 1)"
  fi
}

# A valid config of our own; the broken ones below differ from it in one line.
good_conf() {
  cat <<'EOF'
log_level = "info";
eal = {
  args = [ "--no-huge", "--file-prefix", "sluice-check" ];
  main_lcore = 0;
};
ports = (
  { name = "p0"; device = "net_null0"; rx_queues = 1; }
);
workers = (
  { lcore = 1; rx = ( { port = "p0"; queue = 0; } ); }
);
addresses = (
  { port = "p0"; address = "192.168.79.1/24"; },
  { port = "p0"; address = "fd79::1/64"; }
);
EOF
}

expect_ok "$conf_dir/demo.conf"
expect_ok "$conf_dir/gateway.conf"
good_conf >"$tmp/good.conf"
expect_ok "$tmp/good.conf"

# Line 2 of each: an unknown setting, a syntax error, a bad address.
{ echo 'log_level = "info";'; echo 'bogus_setting = 1;'; good_conf | sed 1d; } >"$tmp/unknown.conf"
expect_error unknown 2 bogus_setting

{ echo 'log_level = "info";'; echo 'mbufs = = 3;'; good_conf | sed 1d; } >"$tmp/syntax.conf"
expect_error syntax 2 ""

good_conf | sed 's|"192.168.79.1/24"|"192.168.79.300/24"|' >"$tmp/address.conf"
line=$(grep -n '192.168.79.300' "$tmp/address.conf" | cut -d: -f1)
expect_error address "$line" address

run --config /nonexistent/sluice.conf
if ((rc != 0 && rc < 124)) && grep -qF /nonexistent/sluice.conf "$tmp/err"; then
  pass "missing config: exit $rc, $(grep -F /nonexistent/sluice.conf "$tmp/err" | head -n 1)"
else
  fail "missing config: exit $rc, stderr:"$'\n'"$(cat "$tmp/err")"
fi

run --no-such-flag
if ((rc != 0 && rc < 124)) && [[ -s $tmp/err ]]; then
  pass "unknown flag: exit $rc, $(head -n 1 "$tmp/err")"
else
  fail "unknown flag: exit $rc and stderr '$(cat "$tmp/err")'"
fi

# The embedded default is conf/demo.conf, byte for byte.
run --print-default-config
if ((rc == 0)) && cmp -s "$tmp/out" "$conf_dir/demo.conf"; then
  pass "--print-default-config prints conf/demo.conf"
else
  fail "--print-default-config (exit $rc) differs from conf/demo.conf:"$'\n'"$(diff "$tmp/out" "$conf_dir/demo.conf" | head -n 20)"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
