package embedded

import "testing"

// A stamp is valid only with no write of its document's slot (or of many) running, and stays
// unchanged only while none starts; a write never counted finished leaves no valid stamp after it.
func TestWriteCounts(t *testing.T) {
	var w WriteCounts
	if writeSlot("a") == writeSlot("b") {
		t.Fatal(`"a" and "b" share a slot: pick two keys that do not`)
	}
	st, ok := w.Stamp("a")
	if !ok || !w.Unchanged("a", st) {
		t.Fatalf("no write yet: Stamp ok %v, Unchanged %v; want both", ok, w.Unchanged("a", st))
	}
	done := w.Start("a")
	if w.Unchanged("a", st) {
		t.Error("a write of a started after the stamp: Unchanged = true")
	}
	if _, ok := w.Stamp("a"); ok {
		t.Error("a write of a running: Stamp ok = true")
	}
	done(true)
	if st, ok = w.Stamp("a"); !ok {
		t.Fatal("the write of a finished: Stamp ok = false")
	}
	w.Start("b")(true) // another document, in another slot
	if !w.Unchanged("a", st) {
		t.Error("a write of b: Unchanged(a) = false")
	}
	all := w.StartAll()
	if w.Unchanged("a", st) {
		t.Error("a write of many started after the stamp: Unchanged = true")
	}
	if _, ok := w.Stamp("a"); ok {
		t.Error("a write of many running: Stamp ok = true")
	}
	all(true)
	w.Start("a")(false) // undecided: never finished
	if _, ok := w.Stamp("a"); ok {
		t.Error("after an undecided write of a: Stamp ok = true")
	}
	if _, ok := w.Stamp("b"); !ok {
		t.Error("after an undecided write of a: Stamp(b) ok = false")
	}
}
