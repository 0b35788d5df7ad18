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
// Seqs are assigned when a group is formed, from the seq cache (or the end the caller found), after
// the previous group's write has been acknowledged and recorded in the cache. A group holds at most
// one append per citizen (a second waits for the next group), so every document of a group is at
// its citizen's known end + 1: its seq is inserted only when the one before exists, and the log
// stays dense even when part of a write fails. An append whose seq another writer (another
// instance, AppendSubjectLogs) took is retried alone through seqChain.insertNext after the write.
//
// One append may carry several references of one citizen (a few AppendSubjectLogs references,
// grouped by citizen: entries appended together, ledger.AppendAll): they take the seqs end + 1,
// end + 2, … and their documents sit side by side in the insert, in seq order. The log stays dense
// all the same, because of how FerretDB runs an insert: all its documents in one transaction, or,
// when that fails, one document after the other in the order given, stopping at the first error
// that is not a duplicate _id. So a seq is inserted only when the seqs before it in the append are
// inserted or taken. A reference whose seq was taken is retried alone after the append's last seq.

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

// logAppend is one AppendSubjectLog (or one citizen's references of an AppendSubjectLogs)
// waiting in a group.
type logAppend struct {
	ctx  context.Context
	refs []store.LogRef // one citizen's, in the order of their seqs
	head uint64         // the latest seq the caller knew or read for its citizen
	done chan struct{}

	// Set by the writer before done is closed.
	seq  uint64 // the seq the group tried for refs[0] (refs[i]: seq + i)
	lost []bool // lost[i]: the seq of refs[i] was taken: retry it alone after the append's last seq
	err  error
}

// pseudonym is the citizen whose references a carries.
func (a *logAppend) pseudonym() string { return a.refs[0].Pseudonym }

// groupAppendLogs appends refs, one citizen's (whose latest known seq is head), in the next group
// commit and returns the seqs they got. Their subject references are stored in the same group.
func (s *Store) groupAppendLogs(ctx context.Context, refs []store.LogRef, head uint64) ([]uint64, error) {
	a := &logAppend{ctx: ctx, refs: refs, head: head, done: make(chan struct{})}
	s.queueLogAppends(ctx, a)
	return s.waitLogAppend(ctx, a)
}

// queueLogAppends queues appends for the next group commit, starting its writer if none runs.
func (s *Store) queueLogAppends(ctx context.Context, as ...*logAppend) {
	b := &s.lastSeqs.batch
	b.mu.Lock()
	b.pending = append(b.pending, as...)
	start := !b.writing
	b.writing = true
	b.mu.Unlock()
	if start {
		go s.writeLogGroups(context.WithoutCancel(ctx))
	}
}

// waitLogAppend waits for a's group and retries its lost references, returning the seqs it got.
func (s *Store) waitLogAppend(ctx context.Context, a *logAppend) ([]uint64, error) {
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, ctx.Err() // the group may still store it; an error allows that
	}
	if a.err != nil {
		return nil, a.err
	}
	seqs := make([]uint64, len(a.refs))
	from := a.seq + uint64(len(a.refs)) // past every seq the group tried
	for i, ref := range a.refs {
		if !a.lost[i] {
			seqs[i] = a.seq + uint64(i)
			continue
		}
		seq, err := s.insertLog(ctx, ref, from)
		if err != nil {
			return nil, err
		}
		s.lastSeqs.put(ref.Pseudonym, seq)
		seqs[i], from = seq, seq+1
	}
	return seqs, nil
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
	docs := 0
	in := map[string]bool{}
	rest := b.pending[:0]
	for _, a := range b.pending {
		switch {
		case a.ctx.Err() != nil:
			continue // its caller returned already
		case len(group) > 0 && docs+len(a.refs) > maxLogGroup || in[a.pseudonym()]:
			rest = append(rest, a)
			continue
		}
		in[a.pseudonym()] = true
		known, _ := s.lastSeqs.get(a.pseudonym())
		a.seq = max(known, a.head) + 1
		a.lost = make([]bool, len(a.refs))
		group = append(group, a)
		docs += len(a.refs)
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
	type docOf struct {
		a *logAppend
		i int // the reference's place in a.refs
	}
	var logs, subjects []any
	var of []docOf // of[k]: whose is logs[k]
	for _, a := range group {
		for i, ref := range a.refs { // side by side, in seq order: see the top of this file
			logs = append(logs, toLogDoc(ref, a.seq+uint64(i)))
			subjects = append(subjects, subjectDoc(store.SubjectRef{Pseudonym: ref.Pseudonym, Index: ref.Index, Salt: ref.Salt, Page: ref.Page}))
			of = append(of, docOf{a, i})
		}
	}
	unordered := options.InsertMany().SetOrdered(false)
	subjErr := make(chan error, 1)
	go func() {
		_, err := s.subjects.InsertMany(ctx, subjects, unordered)
		if err != nil && !onlyDuplicates(err) { // a reference stored before, by a retried append
			err = fmt.Errorf("appending %d references to the subject index: %w", len(subjects), mapErr(err))
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
			of[we.Index].a.lost[of[we.Index].i] = true
		}
	default:
		err = fmt.Errorf("appending %d references to access logs: %w", len(logs), mapErr(err))
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
		for i := range a.refs {
			if a.err == nil && !a.lost[i] {
				s.lastSeqs.put(a.pseudonym(), a.seq+uint64(i))
			}
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
