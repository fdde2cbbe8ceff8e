#!/usr/bin/env bash
# Delivery benchmark: end-to-end latency from a webhook's ack to its Desk import call, through the real service (Release,
# child process) and a zero-latency fake Desk Invoke API in the bench process, on 127.0.0.1. Baseline: the ack latency.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario delivery, passing every argument through:
#   bench/run-delivery-bench.sh                          # defaults: 1,000 webhooks/s, 15 s warm-up + 10 s measured, 50 customers
#   bench/run-delivery-bench.sh --duration 60 --warmup 30   # the full run
#   bench/run-delivery-bench.sh --help
# The report is printed and written to bench/results/delivery-<timestamp>.md (with the service's log beside it).
# It checks that every acknowledged SID reached the fake Desk exactly once. Bounded durations, a watchdog.
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
  --scenario delivery \
  --web-dll "$root/src/TwilioChannel.Web/bin/Release/net10.0/TwilioChannel.Web.dll" \
  --results "$here/results" \
  "$@"
