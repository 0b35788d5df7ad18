#!/bin/bash
# Two govhub builds side by side, each on its own copy of one demo store, asked in turn by one
# sequential client (certload -hub A,B): compared under the same load from the machine.
# docs/BENCHMARKS.md ("Entries appended together") reports its numbers.
#
#   A=bin B=bin DA=dir DB=dir CLIENT=certload-bin [CITIZENS=100000] [REQ=400] [QUIET=1.2] paired.sh
#
# The hubs verify their whole ledgers at start: the client waits for that, then for the load
# average to fall below QUIET (at most 5 minutes). Swap A and B between runs.
A=${A:?A}; B=${B:?B}; DA=${DA:?DA}; DB=${DB:?DB}; CLIENT=${CLIENT:?CLIENT}
CITIZENS=${CITIZENS:-100000}
LOGA=$(mktemp); LOGB=$(mktemp)
echo "A $A on $DA; B $B on $DB; load at start: $(cat /proc/loadavg)"
$A demo --citizens $CITIZENS --data-dir $DA --addr 127.0.0.1:18491 --rate-limit 0 > $LOGA 2>&1 &
pa=$!
$B demo --citizens $CITIZENS --data-dir $DB --addr 127.0.0.1:18492 --rate-limit 0 > $LOGB 2>&1 &
pb=$!
for i in $(seq 1 600); do grep -q "ledger verified" $LOGA && grep -q "ledger verified" $LOGB && break; sleep 1; done
grep -h "ledger verified" $LOGA $LOGB
for i in $(seq 1 60); do awk "BEGIN{exit !($(cut -d' ' -f1 /proc/loadavg) < ${QUIET:-1.2})}" && break; sleep 5; done
echo "load before the client: $(cat /proc/loadavg)"
TOKEN=$($A token --kind department --department housing --role clerk --subject bench-h --data-dir $DA --ttl 1h)
$CLIENT -hub http://127.0.0.1:18491,http://127.0.0.1:18492 -token "$TOKEN" -citizens $CITIZENS -requests ${REQ:-400} -duration 3s
echo "load after: $(cat /proc/loadavg)"
kill -INT $pa $pb; wait $pa $pb
rm -f $LOGA $LOGB
