#!/usr/bin/env bash
# Backfill benchmark: the service's history backfill (Release, child process, fresh per size) against a bare loop that only
# pages and parses the same JSON, both reading a synthetic history from a fake Twilio in the bench process, on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario backfill, passing every argument through:
#   bench/run-backfill-bench.sh                          # defaults: --sizes 10000,1000000 (the full run)
#   bench/run-backfill-bench.sh --sizes 20000,50000      # a smoke run
# Reports throughput (N / elapsed) for both, the ratio, and the service's peak RSS per size (ratio largest / smallest).
# The report is printed and written to bench/results/backfill-<timestamp>.md. Bounded by a watchdog.
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
run_bench backfill "$@"
