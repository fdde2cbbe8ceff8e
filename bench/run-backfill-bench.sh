#!/usr/bin/env bash
# Backfill benchmark: the service's history backfill (Release, child process, fresh per size) against a bare loop that only
# pages and parses the same JSON, both reading a synthetic history from a fake Twilio in the bench process, on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario backfill, passing every argument through:
#   bench/run-backfill-bench.sh                          # defaults: --sizes 10000,1000000 (the full run)
#   bench/run-backfill-bench.sh --sizes 20000,50000      # a smoke run
# Reports throughput (N / elapsed) for both, the ratio, and the service's peak RSS per size (ratio largest / smallest).
# The report is printed and written to bench/results/backfill-<timestamp>.md. Bounded by a watchdog.
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
  --scenario backfill \
  --web-dll "$root/src/TwilioChannel.Web/bin/Release/net10.0/TwilioChannel.Web.dll" \
  --results "$here/results" \
  "$@"
