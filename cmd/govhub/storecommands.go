package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/event"
)

// storeCommands counts the commands the hub's database clients send, by command and collection
// (the driver's command monitor), with their time from sending to the reply:
// govhub_store_commands_total and govhub_store_command_seconds_total on /metrics, and per request
// in govhub bench's summary. A logged read's cost on the embedded store is mostly in its commands
// (each find is a query that FerretDB turns into SQL and decodes from JSON), so how many each
// request sends is where its time goes. The labels are the hub's own command and collection
// names, never a value.
type storeCommands struct {
	mu       sync.Mutex
	by       map[commandKey]*commandStat
	inFlight sync.Map // the driver's request id → commandKey, from start to reply
}

type commandKey struct{ command, collection string }

type commandStat struct {
	n     atomic.Uint64
	nanos atomic.Int64
}

func newStoreCommands() *storeCommands {
	return &storeCommands{by: map[commandKey]*commandStat{}}
}

// monitor is the command monitor a client reports to.
func (s *storeCommands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			k := commandKey{command: e.CommandName}
			// The collection is the command's first value for find, insert, update, delete,
			// aggregate and count, and getMore's "collection".
			if v, ok := e.Command.Lookup(e.CommandName).StringValueOK(); ok {
				k.collection = v
			} else if v, ok := e.Command.Lookup("collection").StringValueOK(); ok {
				k.collection = v
			}
			s.inFlight.Store(e.RequestID, k)
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { s.finished(e.RequestID, e.Duration) },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { s.finished(e.RequestID, e.Duration) },
	}
}

func (s *storeCommands) finished(id int64, d time.Duration) {
	v, ok := s.inFlight.LoadAndDelete(id)
	if !ok {
		return
	}
	k := v.(commandKey)
	s.mu.Lock()
	st := s.by[k]
	if st == nil {
		st = &commandStat{}
		s.by[k] = st
	}
	s.mu.Unlock()
	st.n.Add(1)
	st.nanos.Add(int64(d))
}

// count is how many commands of one kind on one collection have had their reply.
func (s *storeCommands) count(command, collection string) uint64 {
	s.mu.Lock()
	st := s.by[commandKey{command, collection}]
	s.mu.Unlock()
	if st == nil {
		return 0
	}
	return st.n.Load()
}

var (
	storeCommandsDesc = prometheus.NewDesc("govhub_store_commands_total",
		"Commands the hub sent to its database and got a reply to, by command and collection.", []string{"command", "collection"}, nil)
	storeCommandSecondsDesc = prometheus.NewDesc("govhub_store_command_seconds_total",
		"Time from sending a command to the database to its reply, by command and collection.", []string{"command", "collection"}, nil)
)

// Collect sends the counts as metrics (storeCommandsCollector).
func (s *storeCommands) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.by {
		ch <- prometheus.MustNewConstMetric(storeCommandsDesc, prometheus.CounterValue, float64(st.n.Load()), k.command, k.collection)
		ch <- prometheus.MustNewConstMetric(storeCommandSecondsDesc, prometheus.CounterValue, time.Duration(st.nanos.Load()).Seconds(), k.command, k.collection)
	}
}
