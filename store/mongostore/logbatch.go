package mongostore

// Group commit of access-log appends on FerretDB (s.serialised()), where every insert is its own
// SQLite transaction with its own fsync and the database has one writer: concurrent
// AppendSubjectLog calls share one ordered insertMany of their log documents, each followed by its
// subject reference (both in subject_log, keys.go), so one transaction serves a whole group instead
// of two per append. The queue, the writer and the waiting are groupWrite's (groupwrite.go); what is
// particular to the logs is here.
//
// Seqs are assigned when a group's write starts, from the seq cache (or the end the caller found),
// after the previous group's write has been acknowledged and recorded in the cache. A group holds at
// most one append per citizen (a second waits for the next group: the citizen is the item's key),
// so every document of a group is at its citizen's known end + 1: its seq is inserted only when the
// one before exists, and the log stays dense even when part of a write fails. An append whose seq
// another writer (another instance, AppendSubjectLogs) took is retried alone through
// seqChain.insertNext after the write.
//
// One append may carry several references of one citizen (a few AppendSubjectLogs references,
// grouped by citizen: entries appended together, ledger.AppendAll): they take the seqs end + 1,
// end + 2, … and their documents sit side by side in the insert, in seq order. The log stays dense
// all the same, because the insert is ordered (insertInOrder): a document is stored only when those
// before it are stored or were refused as taken. So a seq is inserted only when the seqs before it
// in the append are inserted or taken. A reference whose seq was taken is retried alone after the
// append's last seq, and its subject reference stored after it.

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// maxLogGroup bounds the references one group commit carries (insertMany(256) amortises to
// about 60 µs a document on the embedded store).
const maxLogGroup = 256

// logAppend is one AppendSubjectLog (or one citizen's references of an AppendSubjectLogs)
// waiting in a group.
type logAppend struct {
	refs []store.LogRef // one citizen's, in the order of their seqs
	head uint64         // the latest seq the caller knew or found for its citizen

	// Set by the group's write.
	seq  uint64 // the seq the group tried for refs[0] (refs[i]: seq + i)
	lost []bool // lost[i]: the seq of refs[i] was taken: retry it alone after the append's last seq
}

// pseudonym is the citizen whose references a carries.
func (a *logAppend) pseudonym() string { return a.refs[0].Pseudonym }

// newLogGroups is the store's group commit of access-log appends.
func (s *Store) newLogGroups() *groupWrite[*logAppend] {
	return &groupWrite[*logAppend]{
		max:    maxLogGroup,
		write:  s.writeLogGroup,
		key:    (*logAppend).pseudonym,
		weight: func(a *logAppend) int { return len(a.refs) },
	}
}

// retryLost returns the seqs a's group got for it, after inserting alone, each after the last,
// the references whose seqs were taken.
func (s *Store) retryLost(ctx context.Context, a *logAppend) ([]uint64, error) {
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
		if err := s.addRefsBeside(ctx, []store.LogRef{ref}); err != nil { // now that its log document is stored
			return nil, err
		}
	}
	return seqs, nil
}

// insertRun is the most documents one insertInOrder command carries: FerretDB (v1.24) writes an
// insert in batches of 100 documents and, ordered, goes on with the next batch after a refused
// document, so only a command of at most one batch stops where MongoDB's does.
const insertRun = 100

// insertInOrder inserts docs into subject_log in order, in ordered inserts of at most insertRun
// documents: a document is stored only if every one before it is stored or was refused as a
// duplicate _id. For each refused document j it calls refused(j), which returns how many of the
// documents right after j to leave out (a log document's reference when the log document was
// refused). Any other error ends it; the documents before the one that failed are stored.
func (s *Store) insertInOrder(ctx context.Context, docs []any, refused func(j int) int) error {
	ordered := options.InsertMany().SetOrdered(true)
	for from := 0; from < len(docs); {
		to := min(len(docs), from+insertRun)
		_, err := s.subjectLog.InsertMany(ctx, docs[from:to], ordered)
		var bwe mongo.BulkWriteException
		switch {
		case err == nil:
			from = to
		case onlyDuplicates(err) && errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 &&
			bwe.WriteErrors[0].Index >= 0 && bwe.WriteErrors[0].Index < to-from:
			j := from + bwe.WriteErrors[0].Index // the first refused; none after it was tried
			from = j + 1 + refused(j)
		default:
			return mapErr(err)
		}
	}
	return nil
}

// writeLogGroup assigns each append of the group its seqs, inserts the group's log documents, each
// followed by its subject reference (insertInOrder: a reference is stored only after its log
// document, keys.go), records the seqs stored in the seq cache and returns each append's outcome.
// A log document whose seq another writer took is lost, and its reference skipped: retryLost
// stores both after the group.
func (s *Store) writeLogGroup(ctx context.Context, group []*logAppend) []error {
	for _, a := range group {
		known, _ := s.lastSeqs.get(a.pseudonym())
		a.seq = max(known, a.head) + 1
		a.lost = make([]bool, len(a.refs))
	}
	type docOf struct {
		a int // the append's place in group
		i int // the reference's place in its refs
	}
	var docs []any
	var of []docOf // of[k/2]: whose are docs[k] (a log document, k even) and docs[k+1] (its reference)
	for k, a := range group {
		for i, ref := range a.refs { // side by side, in seq order: see the top of this file
			docs = append(docs, toLogDoc(ref, a.seq+uint64(i)), subjectDoc(subjectRefOf(ref)))
			of = append(of, docOf{k, i})
		}
	}
	err := s.insertInOrder(ctx, docs, func(j int) int {
		if j%2 == 1 {
			return 0 // a reference stored before, by a retried append
		}
		group[of[j/2].a].lost[of[j/2].i] = true
		return 1 // its reference goes with its retry
	})
	if err != nil {
		err = fmt.Errorf("appending %d references to access logs: %w", len(of), err)
	}
	errs := make([]error, len(group))
	for k, a := range group {
		errs[k] = err
		for i := range a.refs {
			if err == nil && !a.lost[i] {
				s.lastSeqs.put(a.pseudonym(), a.seq+uint64(i))
			}
		}
	}
	return errs
}
