package embedded

// Document notes: small facts about a document that a writer holding its document lock
// (LockDocument) learnt by reading or writing it, kept for every store handle on the server. The
// server's files are this process's alone (its directory lock), and a document whose writers take
// its lock changes only under that lock, so a note set under the lock stays true until the next
// holder, who sets it again or drops it. A writer that reads its note instead of the document
// saves a read command. A note is only ever a shortcut: a writer that finds
// none reads the document, as it would without notes.

// maxNotes bounds the notes kept; past it they are all forgotten, which costs their documents' next
// writers one read each.
const maxNotes = 4096

// Note returns the note kept under key, taken while holding key's document lock.
func (s *Server) Note(key string) (int64, bool) {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	v, ok := s.notes[key]
	return v, ok
}

// SetNote keeps v under key; the caller holds key's document lock and has just read or written the
// document v describes.
func (s *Server) SetNote(key string, v int64) {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	if _, ok := s.notes[key]; !ok && len(s.notes) >= maxNotes {
		clear(s.notes)
	}
	s.notes[key] = v
}

// DropNote forgets the note under key (the document's state is no longer known: a write that
// failed, or one that makes the note useless); the caller holds key's document lock.
func (s *Server) DropNote(key string) {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	delete(s.notes, key)
}
