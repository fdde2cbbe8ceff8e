#!/usr/bin/env bash
# Pull benchmark: POST /desk/pull page assembly with N stored feed threads (bulk-inserted into the service's SQLite file),
# at the start and near the end of the feed; the smallest size is the baseline (same run), on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario pull, passing every argument through:
#   bench/run-pull-bench.sh                              # defaults: --sizes 10000,1000000, 100 pulls per position (the full run)
#   bench/run-pull-bench.sh --sizes 10000,100000 --pulls 50   # a smoke run
# The report is printed and written to bench/results/pull-<timestamp>.md. Bounded by a watchdog.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

# No build servers left running to compete for the CPUs during the measurement.
build() { dotnet build "$1" -c Release -nologo -v quiet --disable-build-servers; }
echo "Building (Release)..."
build "$root/src/TwilioChannel.Web/TwilioChannel.Web.csproj"
build "$here/TwilioChannel.Bench/TwilioChannel.Bench.csproj"

exec dotnet "$here/TwilioChannel.Bench/bin/Release/net10.0/TwilioChannel.Bench.dll" \
  --scenario pull \
  --web-dll "$root/src/TwilioChannel.Web/bin/Release/net10.0/TwilioChannel.Web.dll" \
  --results "$here/results" \
  "$@"
