#!/usr/bin/env bash
# Replies load benchmark: Desk pushes (POST /desk/push) through the real service (Release, child process, Twilio SDK)
# against a bare forwarder, both sending to a zero-latency fake Twilio hosted in the bench process, on 127.0.0.1.
# Builds both in Release, then runs bench/TwilioChannel.Bench --scenario replies, passing every argument through:
#   bench/run-replies-bench.sh                        # defaults: 32, 64 and 128 workers in turn, 15 s warm-up + 10 s each
#   bench/run-replies-bench.sh --duration 8 --concurrency 64 --only service
#   bench/run-replies-bench.sh --help
# The report is printed and written to bench/results/replies-<timestamp>.md (with the service's log beside it).
# Afterwards it checks that the fake Twilio created exactly one message per push the service answered 200 (with that SID).
# The bench stops by itself (bounded durations, a watchdog); on a 2-core machine the load generator shares the CPUs.
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
run_bench replies "$@"
