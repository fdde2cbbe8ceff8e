# Shared by the bench/run-*-bench.sh scripts (sourced): builds the service and the bench in Release, then runs the
# bench for one scenario, passing the script's arguments through. Usage: run_bench <scenario> "$@".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

run_bench() {
  local scenario="$1"; shift
  # No build servers left running to compete for the CPUs during the measurement.
  echo "Building (Release)..."
  dotnet build "$root/src/TwilioChannel.Web/TwilioChannel.Web.csproj" -c Release -nologo -v quiet --disable-build-servers
  dotnet build "$here/TwilioChannel.Bench/TwilioChannel.Bench.csproj" -c Release -nologo -v quiet --disable-build-servers
  exec dotnet "$here/TwilioChannel.Bench/bin/Release/net10.0/TwilioChannel.Bench.dll" \
    --scenario "$scenario" \
    --web-dll "$root/src/TwilioChannel.Web/bin/Release/net10.0/TwilioChannel.Web.dll" \
    --results "$here/results" \
    "$@"
}
