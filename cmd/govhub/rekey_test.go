package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/subject"
)

// rotateIndexOn rotates the index key of h's hub over HTTP (without --wait) and returns the old
// key.
func rotateIndexOn(t *testing.T, h *testHub) []byte {
	t.Helper()
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	before := h.app.keys.indexRing.Current()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"keys", "rotate", "--key", "index", "--data-dir", h.dir, "--hub", srv.URL, "--token", h.token(operator)}, &out, io.Discard); err != nil {
		t.Fatalf("keys rotate --key index = %v\n%s", err, out.String())
	}
	return before
}

// waitRekeyed waits until h's background pseudonym move has finished, and fails on its error.
func waitRekeyed(t *testing.T, h *testHub) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		running, _, errText := h.app.rekey.snapshot()
		if !running {
			if errText != "" {
				t.Fatalf("the pseudonym move stopped: %s", errText)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the pseudonym move did not finish in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two hubs sharing a store and a key directory: one rotates the index key; the other, before it
// has read the store's pseudonym key document again, still appends a read under the citizen's old
// pseudonym, after the first has moved that citizen and appended under the new one at the same
// place in the log. The final round moves the late access after the log's end: the citizen's log
// holds all of them, on either hub, and nothing is left under the old pseudonym.
func TestPseudonymRekeyAcrossInstances(t *testing.T) {
	defer func(g time.Duration) { pseudonymGrace = g }(pseudonymGrace)
	pseudonymGrace = 2 * time.Second
	h1, h2 := twoHubsWith(t, 6, 0, true)
	id := h1.findCitizen(6, "tax").ID
	read := func(h *testHub) uint64 {
		t.Helper()
		res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": id})
		if len(res.Errors) > 0 {
			t.Fatalf("reading %s: %+v", id, res.Errors)
		}
		return receiptIndex(res)
	}
	acked := []uint64{read(h1), read(h2)}

	old := rotateIndexOn(t, h1)
	acked = append(acked, read(h1)) // moves the citizen on h1, then appends under the new pseudonym
	if _, former := h2.app.keys.indexRing.PseudonymKeys(); len(former) != 0 {
		t.Fatal("the second hub took up the new pseudonym key before the test let it")
	}
	acked = append(acked, read(h2)) // late: under the old pseudonym
	if under, err := h1.app.storage.store.PseudonymsUnder(t.Context(), []string{subject.Pseudonym(old, id)}); err != nil || len(under) != 1 {
		t.Fatalf("the late access is not under the old pseudonym (%v, %v): the test did not reach its case", under, err)
	}
	if err := h2.app.takeUpPseudonymKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	acked = append(acked, read(h2))
	waitRekeyed(t, h1)

	for _, h := range []*testHub{h1, h2} {
		log := h.accesses(h.token(citizenP(id)), 20)
		seen := map[uint64]bool{}
		for _, a := range log {
			seen[idx(get(a, "index"))] = true
		}
		for _, ix := range acked {
			if !seen[ix] {
				t.Errorf("the access at %d is missing from the citizen's log (read through %s)", ix, h.dir)
			}
		}
	}
	if under, err := h1.app.storage.store.PseudonymsUnder(t.Context(), []string{subject.Pseudonym(old, id)}); err != nil || len(under) != 0 {
		t.Errorf("after the move, the citizen still has data under the old pseudonym: %v, %v", under, err)
	}
}

// A hub whose key files are a copy without the new index key cannot take up the store's new
// pseudonym key: it fails every request that names a citizen (rather than name one under the old
// pseudonym) until its key files have the key.
func TestPseudonymRekeyWithCopiedKeysFailsClosed(t *testing.T) {
	defer func(g time.Duration) { pseudonymGrace = g }(pseudonymGrace)
	pseudonymGrace = 100 * time.Millisecond
	h1, h2 := twoHubsWith(t, 6, 0, false)
	id := h1.findCitizen(6, "tax").ID
	rotateIndexOn(t, h1)
	waitRekeyed(t, h1)
	if err := h2.app.takeUpPseudonymKeys(t.Context()); err == nil {
		t.Fatal("a hub without the new index key took up the new pseudonym key")
	}
	mine := h2.token(citizenP(id))
	if res := h2.query(mine, myAccessesQuery, map[string]any{"first": 5}); len(res.Errors) == 0 {
		t.Errorf("myAccesses on the hub without the key = %v, want an error", res.Data)
	}
	if res := h2.query(h2.token(taxClerk), taxQuery, map[string]any{"id": id}); len(res.Errors) == 0 {
		t.Errorf("a read on the hub without the key = %v, want an error", res.Data)
	}
	copyKeys(t, h1.dir, h2.dir)
	if err := h2.app.takeUpPseudonymKeys(t.Context()); err != nil {
		t.Fatalf("with the key files updated: %v", err)
	}
	res := h2.query(h2.token(taxClerk), taxQuery, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		t.Fatalf("a read once the key files are updated: %+v", res.Errors)
	}
	found := false
	for _, a := range h1.accesses(h1.token(citizenP(id)), 20) {
		found = found || idx(get(a, "index")) == receiptIndex(res)
	}
	if !found {
		t.Errorf("the read through the updated hub is not in the citizen's log")
	}
}

// A citizen watching their log (accessAdded) across an index key rotation goes on receiving their
// accesses once the log has moved to their new pseudonym.
func TestAccessAddedAcrossPseudonymRekey(t *testing.T) {
	defer func(g time.Duration) { pseudonymGrace = g }(pseudonymGrace)
	pseudonymGrace = 100 * time.Millisecond
	h := startHub(t, 6)
	c := h.gen.Citizen(1)
	sse := sseSubscribe(t, h, h.token(citizenP(c.ID)), accessAddedSub)
	time.Sleep(700 * time.Millisecond) // the subscription has read the log's end
	rotateIndexOn(t, h)
	waitRekeyed(t, h)
	res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID}) // some fields refused, the read logged
	want := int64(receiptIndex(res))
	got := make(chan map[string]any, 1)
	errc := make(chan error, 1)
	go func() {
		m := map[string]any{}
		if err := sse(&m); err != nil {
			errc <- err
			return
		}
		got <- m
	}()
	select {
	case m := <-got:
		if int64(idx(get(m, "accessAdded", "index"))) != want {
			t.Errorf("accessAdded = %+v, want index %d", m, want)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered within 5 s of a read after the rotation")
	}
}
