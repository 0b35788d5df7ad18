package main

import (
	"net/http"
	"strings"
	"testing"
)

// A hub that stops gracefully saves the access-log ends it knows, and after a restart a read of a
// citizen it had read before appends to their log with no read of a head or log document; a
// citizen it never appended for (here an unknown id, whose refusal is logged for it) still has their
// log's end found by reads.
func TestLogEndsSurviveARestart(t *testing.T) {
	h := startHub(t, 3)
	known := h.gen.Citizen(1)
	read := func(id string, ok bool) {
		t.Helper()
		clerk := http.Header{"Authorization": {"Bearer " + h.token(housingClerk)}}
		if _, res := h.postJSON(clerk, strings.Replace(metricsPointRead, "%s", id, 1)); (len(res.Errors) == 0) != ok {
			t.Fatalf("read of %s: %+v", id, res.Errors)
		}
	}
	read(known.ID, true)
	h.close()
	h.open()
	finds := func() uint64 {
		c := h.app.storage.commands
		return c.count("find", "subject_log") + c.count("find", "subject_log_heads")
	}
	before := finds()
	read(known.ID, true)
	if n := finds() - before; n != 0 {
		t.Errorf("a read after the restart of a citizen read before it: %d reads of access-log heads and documents, want 0", n)
	}
	read("C999999", false)
	if finds() == before {
		t.Errorf("the refused read of an unknown citizen found the end of their log with no read")
	}
}
