package mongostore

import (
	"maps"

	"github.com/govhub/govhub/store/embedded"
)

// Marks: an update's write of a citizen's document without reading it a second time.
//
// On FerretDB a compare-and-swap write of a citizen's document (writeCitizen) reads the
// document under its lock, compares, and replaces: FerretDB looks a document up by index only for
// a filter on _id alone. An update has read the same document moments before, outside the lock
// (HeadAndRecords, to check the records it builds on), so on the embedded server, whose files only
// this process writes, that read can serve the comparison: HeadAndRecords takes a stamp of the
// document's writes before reading (embedded.WriteCounts, counted by the record_heads handle of
// every store on the server, gate.go) and keeps what it read as the citizen's mark; the update's
// write (PutHeadAndRecord) takes the mark and uses it if no write that may change the document
// has started since the stamp. Then the document is as read, and the comparison is the one the
// read under the lock would make. Otherwise, or with no mark, it reads as before. That saves the
// update one find of a document of several kilobytes, which FerretDB decodes whole.
//
// Against MongoDB (no process locks) every mark is kept and an update's write takes it for its
// first try whatever happened since: the write is a compare-and-swap on the document's count of
// writes, n, so a document written since the mark refuses it, and the write reads the document and
// tries again (writeCitizen). That saves MongoDB's updates the same find.
//
// A mark is used once. The marks are bounded: past maxMarks they are all forgotten, which costs the
// writes that would have used them one read each.

// maxMarks bounds the marks kept.
const maxMarks = 1024

// headMark is a citizen's document as HeadAndRecords read it, and the stamp taken before.
type headMark struct {
	stamp embedded.WriteStamp
	doc   citizenDoc // whole: a write packs all of it
	found bool
}

// stamp returns the stamp to take before reading the citizen's document for a mark; ok is false
// where the store keeps no marks (a FerretDB reached by URI), or a write of the document may be
// running.
func (s *Store) stamp(citizen string) (embedded.WriteStamp, bool) {
	if !s.serialised() {
		// Against MongoDB the write's compare-and-swap on n refuses a document written since the
		// mark was read (writeCitizen), so every mark may serve as the write's first try.
		return embedded.WriteStamp{}, true
	}
	if s.recordHeads.counts == nil {
		return embedded.WriteStamp{}, false
	}
	return s.recordHeads.counts.Stamp(citizen)
}

// mark keeps d, the citizen's document read after st was taken, as the citizen's mark.
func (s *Store) mark(citizen string, st embedded.WriteStamp, d citizenDoc, found bool) {
	m := headMark{stamp: st, found: found, doc: d}
	s.marksMu.Lock()
	defer s.marksMu.Unlock()
	if s.marks == nil || len(s.marks) >= maxMarks {
		s.marks = make(map[string]headMark)
	}
	s.marks[citizen] = m
}

// marked takes the citizen's mark, with use. On FerretDB ok is true when it holds the document as
// stored now, and the caller holds the document's lock, as it would for the read the mark
// replaces; against MongoDB ok is true for any mark, which the write's compare-and-swap checks.
func (s *Store) marked(citizen string, use bool) (d citizenDoc, found, ok bool) {
	if !use || s.serialised() && s.recordHeads.counts == nil {
		return d, false, false
	}
	s.marksMu.Lock()
	m, ok := s.marks[citizen]
	delete(s.marks, citizen)
	s.marksMu.Unlock()
	if !ok || s.serialised() && !s.recordHeads.counts.Unchanged(citizen, m.stamp) {
		return d, false, false
	}
	// The caller's change (writeCitizen) changes its copy in place, and HeadAndRecords' caller
	// may still read the records of the same document.
	d = m.doc
	d.Versions, d.Records, d.RV = maps.Clone(m.doc.Versions), maps.Clone(m.doc.Records), maps.Clone(m.doc.RV)
	return d, m.found, true
}
