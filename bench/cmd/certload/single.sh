#!/bin/bash
# One govhub build alone on one demo store, asked by one sequential client RUNS times: issuance
# latency as issue 13 states its target (one hub, 100,000 citizens). docs/BENCHMARKS.md reports
# its numbers; paired.sh compares two builds.
#
#   A=bin DA=dir CLIENT=certload-bin [CITIZENS=100000] [REQ=400] [RUNS=3] [QUIET=1.0] single.sh
#
# The hub verifies its whole ledger at start: the client waits for that, and before each run for
# the load average to fall below QUIET (at most 5 minutes).
A=${A:?A}; DA=${DA:?DA}; CLIENT=${CLIENT:?CLIENT}
CITIZENS=${CITIZENS:-100000}
LOGA=$(mktemp)
$A demo --citizens $CITIZENS --data-dir $DA --addr 127.0.0.1:18491 --rate-limit 0 > $LOGA 2>&1 &
pa=$!
for i in $(seq 1 600); do grep -q "ledger verified" $LOGA && break; sleep 1; done
grep -h "ledger verified" $LOGA
TOKEN=$($A token --kind department --department housing --role clerk --subject bench-h --data-dir $DA --ttl 1h)
for r in $(seq 1 ${RUNS:-3}); do
  for i in $(seq 1 60); do awk "BEGIN{exit !($(cut -d' ' -f1 /proc/loadavg) < ${QUIET:-1.0})}" && break; sleep 5; done
  echo "load before run $r: $(cat /proc/loadavg)"
  $CLIENT -hub http://127.0.0.1:18491 -token "$TOKEN" -citizens $CITIZENS -requests ${REQ:-400} -duration 3s
done
kill -INT $pa; wait $pa
rm -f $LOGA
