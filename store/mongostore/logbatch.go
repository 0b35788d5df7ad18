package mongostore

// Group commit of access-log appends on FerretDB (s.serialised()), where every insert is its own
// SQLite transaction with its own fsync and the database has one writer: concurrent
// AppendSubjectLog calls share one unordered insertMany of their log documents and one of their
// subject references, so two transactions serve a whole group instead of two per append.
//
// There is no timer and no goroutine while idle. The first append that finds no group being
// written starts a writer goroutine, which writes the appends waiting at once (alone, when it is
// alone); while a group is being written the next one accumulates, up to maxLogGroup appends, and
// the writer takes it as soon as the write before is acknowledged. The writer ends when nothing is
// waiting. Each caller returns only after the write carrying its documents is acknowledged.
//
// Seqs are assigned when a group is formed, from the seq cache (or the head the caller read), after
// the previous group's write has been acknowledged and recorded in the cache. A group holds at most
// one append per citizen (a second waits for the next group), so every document of a group is at
// its citizen's known end + 1: its seq is inserted only when the one before exists, and the log
// stays dense even when part of a write fails. An append whose seq another writer (another
// instance, AppendSubjectLogs) took is retried alone through seqChain.insertNext after the write.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

const (
	// maxLogGroup bounds the appends one group commit carries (insertMany(256) amortises to about
	// 60 µs a document on the embedded store).
	maxLogGroup = 256
	// logGroupTimeout bounds one group's write.
	logGroupTimeout = 30 * time.Second
)

// logBatcher queues the appends waiting for the next group commit of one Store.
type logBatcher struct {
	mu      sync.Mutex
	pending []*logAppend
	writing bool // a writer goroutine is running
}

// logAppend is one AppendSubjectLog waiting in a group.
type logAppend struct {
	ctx  context.Context
	ref  store.LogRef
	head uint64 // the latest seq the caller knew or read for its citizen
	done chan struct{}

	// Set by the writer before done is closed.
	seq  uint64 // the seq the group tried
	lost bool   // the seq was taken: retry alone after it
	err  error
}

// groupAppendLog appends ref (whose citizen's latest known seq is head) in the next group commit
// and returns the seq it got. The subject reference is stored in the same group.
func (s *Store) groupAppendLog(ctx context.Context, ref store.LogRef, head uint64) (uint64, error) {
	a := &logAppend{ctx: ctx, ref: ref, head: head, done: make(chan struct{})}
	b := &s.lastSeqs.batch
	b.mu.Lock()
	b.pending = append(b.pending, a)
	start := !b.writing
	b.writing = true
	b.mu.Unlock()
	if start {
		go s.writeLogGroups(context.WithoutCancel(ctx))
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return 0, ctx.Err() // the group may still store it; an error allows that
	}
	if a.err != nil {
		return 0, a.err
	}
	if !a.lost {
		return a.seq, nil
	}
	seq, err := s.insertLog(ctx, ref, a.seq+1)
	if err != nil {
		return 0, err
	}
	s.lastSeqs.put(ref.Pseudonym, seq)
	return seq, nil
}

// writeLogGroups writes groups until no append is waiting. base carries the values of the context
// of the append that started it, not its cancellation.
func (s *Store) writeLogGroups(base context.Context) {
	b := &s.lastSeqs.batch
	for {
		b.mu.Lock()
		group := s.formLogGroup()
		if len(group) == 0 {
			b.writing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		s.writeLogGroup(base, group)
		for _, a := range group {
			close(a.done)
		}
	}
}

// formLogGroup takes the next group off b.pending, at most one append per citizen and maxLogGroup
// in all, dropping appends whose caller has gone, and assigns each its seq. b.mu is held.
func (s *Store) formLogGroup() []*logAppend {
	b := &s.lastSeqs.batch
	var group []*logAppend
	in := map[string]bool{}
	rest := b.pending[:0]
	for _, a := range b.pending {
		switch {
		case a.ctx.Err() != nil:
			continue // its caller returned already
		case len(group) == maxLogGroup || in[a.ref.Pseudonym]:
			rest = append(rest, a)
			continue
		}
		in[a.ref.Pseudonym] = true
		known, _ := s.lastSeqs.get(a.ref.Pseudonym)
		a.seq = max(known, a.head) + 1
		group = append(group, a)
	}
	clear(b.pending[len(rest):])
	b.pending = rest
	return group
}

// writeLogGroup inserts the group's log documents and subject references, two unordered inserts
// side by side, records the seqs stored in the seq cache and sets each append's outcome.
func (s *Store) writeLogGroup(base context.Context, group []*logAppend) {
	ctx, cancel := context.WithTimeout(base, logGroupTimeout)
	defer cancel()
	logs := make([]any, len(group))
	subjects := make([]any, len(group))
	for i, a := range group {
		logs[i] = toLogDoc(a.ref, a.seq)
		subjects[i] = subjectDoc(store.SubjectRef{Pseudonym: a.ref.Pseudonym, Index: a.ref.Index, Salt: a.ref.Salt, Page: a.ref.Page})
	}
	unordered := options.InsertMany().SetOrdered(false)
	subjErr := make(chan error, 1)
	go func() {
		_, err := s.subjects.InsertMany(ctx, subjects, unordered)
		if err != nil && !onlyDuplicates(err) { // a reference stored before, by a retried append
			err = fmt.Errorf("appending %d references to the subject index: %w", len(group), mapErr(err))
		} else {
			err = nil
		}
		subjErr <- err
	}()
	_, err := s.subjectLog.InsertMany(ctx, logs, unordered)
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case onlyDuplicates(err) && errors.As(err, &bwe):
		for _, we := range bwe.WriteErrors {
			group[we.Index].lost = true
		}
	default:
		err = fmt.Errorf("appending %d references to access logs: %w", len(group), mapErr(err))
		for _, a := range group {
			a.err = err
		}
	}
	if e := <-subjErr; e != nil {
		for _, a := range group {
			a.err = e
		}
	}
	for _, a := range group {
		if a.err == nil && !a.lost {
			s.lastSeqs.put(a.ref.Pseudonym, a.seq)
		}
	}
}

// subjectDoc is a subject reference's document in the subjects collection (AddSubjectRefs).
func subjectDoc(r store.SubjectRef) bson.D {
	d := bson.D{{Key: "_id", Value: subjectID(r.Pseudonym, r.Index)}, {Key: "index", Value: int64(r.Index)}, {Key: "salt", Value: r.Salt}}
	if r.Page != nil {
		d = append(d, bson.E{Key: "page", Value: pageDoc{Pos: int64(r.Page.Position), Path: r.Page.Hashes}})
	}
	return d
}
