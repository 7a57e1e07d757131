#!/usr/bin/env bash
# The interop management server checked on its own (selfcheck.js): both ADS
# protocols, versions, nonces, NACK, partial EDS, Resource wrapping, extra
# fields, delta reconnect with initial_resource_versions. No root needed.
#
# Usage: selfcheck_test.sh
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/npm_setup.sh" || exit 1
exec timeout 60 node "$here/selfcheck.js"
