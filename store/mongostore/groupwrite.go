package mongostore

import (
	"context"
	"sync"
	"time"
)

// groupWrite is a group commit of one kind of small write on FerretDB (s.serialised()), where
// every write command is a transaction of its own, with its own sync, behind the database's one
// writer: concurrent calls share one command (an insertMany, a deleteMany), or a few (a large group
// of access logs, logbatch.go), so that one write serves the requests waiting at once instead of
// one write each.
//
// There is no timer and no goroutine while idle. The first call that finds no write running
// starts a writer, which writes what is waiting at once (alone, when it is alone); while a write
// runs the next group accumulates, up to max (items, or their weights), and the writer takes it as
// soon as the write before is acknowledged. Items with the same key never share a group: a later
// one waits for a later group, as does one too heavy for what is left of this one. The writer ends
// when nothing is waiting. Each caller returns once the write carrying its item is acknowledged,
// with that write's outcome for its item; a caller whose context ends first returns its context's
// error, and its item is written or not (an error allows either); an item whose caller has gone
// before its group is formed is dropped. Groups are written one after the other, by one goroutine,
// so a write sees everything the one before it did.
type groupWrite[T any] struct {
	max int
	// write writes the items in one command and returns one outcome for each (nil: written).
	write func(ctx context.Context, items []T) []error
	// key, when set, names an item's key ("": none); weight, when set, is how much of max it takes
	// (otherwise 1).
	key    func(T) string
	weight func(T) int

	mu      sync.Mutex
	waiting []*groupItem[T]
	writing bool
}

type groupItem[T any] struct {
	ctx  context.Context
	v    T
	err  error // set by the writer before done is closed
	done chan struct{}
}

// groupWriteTimeout bounds one group's write.
const groupWriteTimeout = 30 * time.Second

// do writes v in the next group and returns its outcome.
func (g *groupWrite[T]) do(ctx context.Context, v T) error {
	return g.doAll(ctx, []T{v})[0]
}

// doAll queues vs at once, so that they may share a group, and returns the outcome of each.
func (g *groupWrite[T]) doAll(ctx context.Context, vs []T) []error {
	its := make([]*groupItem[T], len(vs))
	for i, v := range vs {
		its[i] = &groupItem[T]{ctx: ctx, v: v, done: make(chan struct{})}
	}
	g.mu.Lock()
	g.waiting = append(g.waiting, its...)
	start := !g.writing
	g.writing = true
	g.mu.Unlock()
	if start {
		go g.run(context.WithoutCancel(ctx))
	}
	errs := make([]error, len(its))
	for i, it := range its {
		select {
		case <-it.done:
			errs[i] = it.err
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	return errs
}

// run writes groups until nothing is waiting. base carries the values of the context of the call
// that started it, not its cancellation.
func (g *groupWrite[T]) run(base context.Context) {
	for {
		group := g.next()
		if len(group) == 0 {
			return
		}
		items := make([]T, len(group))
		for i, it := range group {
			items[i] = it.v
		}
		ctx, cancel := context.WithTimeout(base, groupWriteTimeout)
		errs := g.write(ctx, items)
		cancel()
		for i, it := range group {
			it.err = errs[i]
			close(it.done)
		}
	}
}

// next takes the next group off the waiting items, in order of arrival: at most max (by weight;
// an item heavier than max goes alone), at most one item per key, dropping those whose caller
// has gone; with none left it marks the writer stopped.
func (g *groupWrite[T]) next() []*groupItem[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	var group []*groupItem[T]
	taken := 0
	var keys map[string]bool // the keys in the group, when items have keys
	rest := g.waiting[:0]
	for _, it := range g.waiting {
		if it.ctx.Err() != nil {
			continue // its caller returned already
		}
		w, k := 1, ""
		if g.weight != nil {
			w = g.weight(it.v)
		}
		if g.key != nil {
			k = g.key(it.v)
		}
		if len(group) > 0 && taken+w > g.max || k != "" && keys[k] {
			rest = append(rest, it)
			continue
		}
		group = append(group, it)
		taken += w
		if k != "" {
			if keys == nil {
				keys = map[string]bool{}
			}
			keys[k] = true
		}
	}
	clear(g.waiting[len(rest):])
	g.waiting = rest
	if len(group) == 0 {
		g.writing = false
	}
	return group
}
