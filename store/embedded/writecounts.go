package embedded

import "sync/atomic"

// Write counts: whether a document may have changed since it was read, without reading it again.
//
// The server's files are this process's alone, so every write to them is sent by a store handle of
// this process. A handle that counts its writes to a collection (Writes) tells Start, before it
// sends a write of one document, and calls the function Start returns once the server has
// answered; a write of several documents, or of one it cannot name, goes to StartAll. A reader
// takes a Stamp of a document before reading it: valid only when no write of that document's slot
// (a hash of its key onto 1,024) or of many was running then. Later, Unchanged reports whether any
// such write has started since. If none has, every write that could have changed the document
// had finished before the stamp, so before the read: what the reader read is still the stored
// document. Documents sharing a slot only make Unchanged answer no more often.
//
// A write whose outcome the server may not have decided when the caller stopped waiting (the
// context ended, the connection broke) is never counted finished: its slot (or, for StartAll, every
// document) has no valid stamp again until the process restarts. That costs the readers one read
// each, never a wrong answer.
//
// Notes (notes.go) serve the other case: a writer that holds a document's lock and knows what it
// stored there, for the next writer under the same lock. Counts serve a reader outside the lock.

// writeSlots is how many slots document keys hash onto.
const writeSlots = 1024

// WriteCounts counts the writes started and finished, by slot and for many documents at once.
// The zero value is ready to use.
type WriteCounts struct {
	started, finished       [writeSlots]atomic.Uint64
	allStarted, allFinished atomic.Uint64
}

// WriteStamp is what Stamp saw: the writes started in a document's slot and for many documents.
type WriteStamp struct{ slot, all uint64 }

// Writes returns the server's write counts, shared by every store handle on it.
func (s *Server) Writes() *WriteCounts { return &s.counts }

func writeSlot(key string) int { return int(keyHash(key) % writeSlots) }

// Start counts a write of the document key starting; the caller calls done once the server has
// answered (finished true) or may still be deciding (finished false).
func (w *WriteCounts) Start(key string) (done func(finished bool)) {
	i := writeSlot(key)
	w.started[i].Add(1)
	return func(finished bool) {
		if finished {
			w.finished[i].Add(1)
		}
	}
}

// StartAll is Start for a write of several documents, or of one the caller cannot name.
func (w *WriteCounts) StartAll() (done func(finished bool)) {
	w.allStarted.Add(1)
	return func(finished bool) {
		if finished {
			w.allFinished.Add(1)
		}
	}
}

// Stamp returns the stamp of the document key, to take before reading it; ok is false while a
// write that may change it is running (or was never counted finished).
func (w *WriteCounts) Stamp(key string) (st WriteStamp, ok bool) {
	i := writeSlot(key)
	// Started before finished: every write started by the first load has finished by the second
	// when they are equal.
	st.slot, st.all = w.started[i].Load(), w.allStarted.Load()
	return st, w.finished[i].Load() == st.slot && w.allFinished.Load() == st.all
}

// Unchanged reports whether no write that may change the document key has started since st was
// taken (with ok true).
func (w *WriteCounts) Unchanged(key string, st WriteStamp) bool {
	return w.started[writeSlot(key)].Load() == st.slot && w.allStarted.Load() == st.all
}
