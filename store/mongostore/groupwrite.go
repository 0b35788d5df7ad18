package mongostore

import (
	"context"
	"sync"
	"time"
)

// groupWrite is a group commit of one kind of small write on FerretDB (s.serialised()), where
// every write command is a transaction of its own, with its own sync, behind the database's one
// writer: concurrent calls share one command (an insertMany, a deleteMany), so that one write
// serves the updates waiting at once instead of one write each. The access logs' group commit
// (logbatch.go) works the same way and keeps its own, for the seqs it assigns.
//
// There is no timer and no goroutine while idle. The first call that finds no write running
// starts a writer, which writes what is waiting at once (alone, when it is alone); while a write
// runs the next group accumulates, up to max items, and the writer takes it as soon as the write
// before is acknowledged. The writer ends when nothing is waiting. Each caller returns once the
// write carrying its item is acknowledged, with that write's outcome for its item; a caller
// whose context ends first returns its context's error, and its item is written or not (an
// error allows either); an item whose caller has gone before its group is formed is dropped.
type groupWrite[T any] struct {
	max int
	// write writes the items in one command and returns one outcome for each (nil: written).
	write func(ctx context.Context, items []T) []error

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
	it := &groupItem[T]{ctx: ctx, v: v, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, it)
	start := !g.writing
	g.writing = true
	g.mu.Unlock()
	if start {
		go g.run(context.WithoutCancel(ctx))
	}
	select {
	case <-it.done:
		return it.err
	case <-ctx.Done():
		return ctx.Err()
	}
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

// next takes the next group off the waiting items, at most max, dropping those whose caller has
// gone; with none left it marks the writer stopped.
func (g *groupWrite[T]) next() []*groupItem[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	var group []*groupItem[T]
	n := 0
	for n < len(g.waiting) && len(group) < g.max {
		if it := g.waiting[n]; it.ctx.Err() == nil {
			group = append(group, it)
		}
		n++
	}
	rest := copy(g.waiting, g.waiting[n:])
	clear(g.waiting[rest:])
	g.waiting = g.waiting[:rest]
	if len(group) == 0 {
		g.writing = false
	}
	return group
}
