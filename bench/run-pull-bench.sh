#!/usr/bin/env bash
# Pull benchmark: POST /desk/pull page assembly with N stored feed threads (bulk-inserted into the service's SQLite file),
# at the start and near the end of the feed; the smallest size is the baseline (same run), on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario pull, passing every argument through:
#   bench/run-pull-bench.sh                              # defaults: --sizes 10000,1000000, 100 pulls per position (the full run)
#   bench/run-pull-bench.sh --sizes 10000,100000 --pulls 50   # a smoke run
# The report is printed and written to bench/results/pull-<timestamp>.md. Bounded by a watchdog.
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
run_bench pull "$@"
