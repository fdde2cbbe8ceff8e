#!/usr/bin/env bash
# Delivery benchmark: end-to-end latency from a webhook's ack to its Desk import call, through the real service (Release,
# child process) and a zero-latency fake Desk Invoke API in the bench process, on 127.0.0.1. Baseline: the ack latency.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario delivery, passing every argument through:
#   bench/run-delivery-bench.sh                          # defaults: 1,000 webhooks/s, 15 s warm-up + 10 s measured, 50 customers
#   bench/run-delivery-bench.sh --duration 60 --warmup 30   # the full run
#   bench/run-delivery-bench.sh --help
# The report is printed and written to bench/results/delivery-<timestamp>.md (with the service's log beside it).
# It checks that every acknowledged SID reached the fake Desk exactly once. Bounded durations, a watchdog.
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
run_bench delivery "$@"
