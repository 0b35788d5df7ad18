package mongostore

// Group commit of access-log appends on FerretDB (s.serialised()), where every insert is its own
// SQLite transaction with its own fsync and the database has one writer: concurrent
// AppendSubjectLog calls share one unordered insertMany of their log documents and their subject
// references (both in subject_log, keys.go), so one transaction serves a whole group instead of two
// per append. The queue, the writer and the waiting are groupWrite's (groupwrite.go); what is
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
// all the same, because of how FerretDB runs an insert: all its documents in one transaction, or,
// when that fails, one document after the other in the order given, stopping at the first error
// that is not a duplicate _id. So a seq is inserted only when the seqs before it in the append are
// inserted or taken. A reference whose seq was taken is retried alone after the append's last seq.

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
	}
	return seqs, nil
}

// writeLogGroup assigns each append of the group its seqs, inserts the group's log documents and
// their subject references in one unordered insert (references after every log document, so the
// log documents keep the order the top of this file relies on), records the seqs stored in the seq
// cache and returns each append's outcome.
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
	var docs, subjects []any
	var of []docOf // of[k]: whose is docs[k], for the log documents
	for k, a := range group {
		for i, ref := range a.refs { // side by side, in seq order: see the top of this file
			docs = append(docs, toLogDoc(ref, a.seq+uint64(i)))
			subjects = append(subjects, subjectDoc(store.SubjectRef{Pseudonym: ref.Pseudonym, Index: ref.Index, Salt: ref.Salt, Page: ref.Page}))
			of = append(of, docOf{k, i})
		}
	}
	logs := len(docs)
	docs = append(docs, subjects...)
	_, err := s.subjectLog.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case onlyDuplicates(err) && errors.As(err, &bwe):
		for _, we := range bwe.WriteErrors {
			if we.Index >= 0 && we.Index < logs { // a reference's is one stored before, by a retried append
				group[of[we.Index].a].lost[of[we.Index].i] = true
			}
		}
		err = nil
	default:
		err = fmt.Errorf("appending %d references to access logs: %w", logs, mapErr(err))
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
