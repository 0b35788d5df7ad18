package embedded

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The write gate (LockWrites) and what it measures: per kind of write (the collection a write
// command goes to), how many passed it, how long they waited for it, and how long they held it.
// On the embedded store every write of the process passes the gate one at a time, so the held time
// over a span of wall-clock time is how busy the store's one writer was, and its split by kind is
// where that time went.

// GateStat is what the write gate measured for one kind of write since the server started.
type GateStat struct {
	Name   string        // the kind of write: its collection
	Writes uint64        // how many were admitted
	Waited time.Duration // their time from asking to admission
	Held   time.Duration // their time from admission to release
}

// gateCounters accumulate one kind of write's GateStat.
type gateCounters struct {
	writes atomic.Uint64
	waited atomic.Int64 // nanoseconds
	held   atomic.Int64 // nanoseconds
}

// gateStats are the counters by kind of write.
type gateStats struct {
	mu    sync.RWMutex
	kinds map[string]*gateCounters
}

func (g *gateStats) of(name string) *gateCounters {
	g.mu.RLock()
	c := g.kinds[name]
	g.mu.RUnlock()
	if c != nil {
		return c
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if c = g.kinds[name]; c == nil {
		if g.kinds == nil {
			g.kinds = map[string]*gateCounters{}
		}
		c = &gateCounters{}
		g.kinds[name] = c
	}
	return c
}

// LockWrites admits one write command at a time, among everyone in this process using the server,
// and returns the function that releases it, or ctx's error if ctx ends first. SQLite lets one
// transaction write at a time and makes the others wait by sleeping (its busy handler: 1, 2, 5,
// 10 … 100 ms, retried up to the busy timeout) rather than by waking them when the writer commits;
// under concurrent writers those sleeps, not the writes, were most of a request's time. Queued
// here, in order of arrival, the next writer starts as soon as the last one is done. Take it around
// one driver call that writes, never while waiting on anything else; document locks
// (LockDocument) are taken before it, never after. name is the kind of write (its collection), by
// which WriteGateStats reports; the release function must be called exactly once.
func (s *Server) LockWrites(ctx context.Context, name string) (unlock func(), err error) {
	c := s.gate.of(name)
	asked := time.Now()
	select {
	case s.writes <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("embedded: waiting to write: %w", ctx.Err())
	}
	admitted := time.Now()
	c.writes.Add(1)
	c.waited.Add(int64(admitted.Sub(asked)))
	return func() {
		c.held.Add(int64(time.Since(admitted)))
		<-s.writes
	}, nil
}

// WriteGateStats returns what the write gate measured since the server started, by kind of write
// in name order.
func (s *Server) WriteGateStats() []GateStat {
	s.gate.mu.RLock()
	out := make([]GateStat, 0, len(s.gate.kinds))
	for name, c := range s.gate.kinds {
		out = append(out, GateStat{Name: name, Writes: c.writes.Load(),
			Waited: time.Duration(c.waited.Load()), Held: time.Duration(c.held.Load())})
	}
	s.gate.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
