#!/bin/bash
# Several govhub builds, one after the other, on one demo store, each loaded by `govhub bench`:
# how docs/BENCHMARKS.md compares builds on this noisy 2-core machine (compare them within one
# sitting, as ratios). Each hub verifies its whole ledger at start; the load waits for that, and
# for the load average to fall below QUIET (at most 2 minutes).
#
#   BINS="old-bin new-bin" DA=dir CLIENT=govhub-bin [SCEN=read|update|mix|…] [ROUNDS=1]
#   [DUR=15s] [CONC=16] [CITIZENS=100000] [QUIET=1.0] [HUBFLAGS=…] alternate.sh
#
# The builds share the store DA, which each must be able to open. A build named bin@store runs on
# a store of its own instead: a build of the no-op ledger (-tags govhub_noopledger) needs one, since
# its reads' entries are indexed but not appended.
BINS=${BINS:?BINS}; DA=${DA:?DA}; CLIENT=${CLIENT:?CLIENT}
SCEN=${SCEN:-mix}; CITIZENS=${CITIZENS:-100000}
scenario=(--scenario "$SCEN")
[ "$SCEN" = mix ] && scenario=()
for r in $(seq 1 "${ROUNDS:-1}"); do
  for entry in $BINS; do
    B=${entry%%@*}; D=$DA
    [ "$B" != "$entry" ] && D=${entry#*@}
    log=$(mktemp)
    # shellcheck disable=SC2086 # HUBFLAGS is a list of flags
    $B demo --citizens "$CITIZENS" --data-dir "$D" --addr 127.0.0.1:18491 --rate-limit 0 $HUBFLAGS > "$log" 2>&1 &
    pid=$!
    for i in $(seq 1 1200); do grep -q "ledger verified" "$log" && break; sleep 0.5; done
    for i in $(seq 1 120); do awk "BEGIN{exit !($(cut -d' ' -f1 /proc/loadavg) < ${QUIET:-1.0})}" && break; sleep 1; done
    echo "=== round $r $B on $D, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%H:%M:%S) UTC"
    cpu0=$(awk '{print $14+$15}' /proc/$pid/stat)
    out=$("$CLIENT" bench --hub http://127.0.0.1:18491 --data-dir "$D" "${scenario[@]}" --duration "${DUR:-15s}" \
      --concurrency "${CONC:-16}" --citizens "$CITIZENS" 2>/dev/null)
    cpu1=$(awk '{print $14+$15}' /proc/$pid/stat)
    echo "$out"
    # The hub's CPU time over the run (user + system, from /proc), and per request: steadier than
    # throughput on a shared machine when comparing builds that change the work a request does.
    n=$(echo "$out" | awk '$1 == "all" {print $2}')
    awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" \
      'BEGIN{printf "hub CPU: %.1f s over the run, %.2f ms a request\n", t/hz, n ? 1000*t/hz/n : 0}'
    echo "hub resident memory: $(ps -o rss= -p $pid) kB"
    kill -INT $pid; wait $pid
    rm -f "$log"
  done
done
