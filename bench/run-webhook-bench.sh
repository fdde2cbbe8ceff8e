#!/usr/bin/env bash
# Webhook load benchmark: the real service (Release, child process) against a bare ASP.NET baseline, on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench, passing every argument through:
#   bench/run-webhook-bench.sh                       # defaults: 10 s per mode, 64 workers, 5000 req/s
#   bench/run-webhook-bench.sh --duration 5 --rate 2000 --concurrency 32 --only service
#   bench/run-webhook-bench.sh --help
# The report is printed and written to bench/results/webhook-<timestamp>.md (with the service's log beside it).
# The bench stops by itself (bounded durations, a watchdog); on a 2-core machine the load generator shares the CPUs.
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
run_bench webhook "$@"
