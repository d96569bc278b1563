#!/usr/bin/env bash
# Runs every DualCluster test. On a fresh Debian machine it first installs what the tests need
# (the redis-server and postgresql OS packages; the test fixtures start their own instances on free
# loopback ports). Usage: ./test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")"

if [ -f eng/install-servers.sh ]; then
  bash eng/install-servers.sh
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# A hung test fails its assembly (with a dump-free report) instead of holding CI to its time limit.
dotnet test DualCluster.sln -c Release --blame-hang-timeout 5m --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over the test assemblies.
awk '
  /(Passed|Failed)!  - Failed: / {
    gsub(",", "");
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") failed += $(i + 1);
      if ($i == "Passed:") passed += $(i + 1);
      if ($i == "Skipped:") skipped += $(i + 1);
    }
  }
  END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }
' "$log"
exit "$status"
