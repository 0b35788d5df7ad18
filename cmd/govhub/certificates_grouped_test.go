package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// stepIndexes returns an application's steps (from certDoc's or applyDoc's answer) as names and
// ledger indexes.
func stepIndexes(t *testing.T, app map[string]any) ([]string, []uint64) {
	t.Helper()
	var names []string
	var idx []uint64
	for _, s := range app["steps"].([]any) {
		m := s.(map[string]any)
		names = append(names, m["name"].(string))
		idx = append(idx, uint64(m["index"].(float64)))
	}
	return names, idx
}

// issuedSteps fails unless app (certDoc's or applyDoc's answer) is issued after the four steps,
// and returns the steps' ledger indexes and the issue entry's.
func issuedSteps(t *testing.T, app map[string]any) (idx []uint64, issue uint64) {
	t.Helper()
	names, idx := stepIndexes(t, app)
	if got := strings.Join(names, ","); got != "received,gathered,decided,issued" || app["status"] != "issued" {
		t.Fatalf("application %v, steps %s; want issued after received,gathered,decided,issued", app["status"], got)
	}
	return idx, uint64(app["certificate"].(map[string]any)["issueEntry"].(float64))
}

// sameBatch fails unless the entries at indexes, consecutive, are stored in one batch document.
func sameBatch(t *testing.T, h *testHub, indexes ...uint64) {
	t.Helper()
	for i := 1; i < len(indexes); i++ {
		if indexes[i] != indexes[i-1]+1 {
			t.Fatalf("entries at %v are not consecutive", indexes)
		}
	}
	st := h.app.storage.store
	for at := uint64(0); ; {
		b, err := st.ReadBatch(t.Context(), at)
		if err != nil {
			t.Fatalf("ReadBatch(%d) looking for %d = %v", at, indexes[0], err)
		}
		if indexes[0] < b.End() {
			if last := indexes[len(indexes)-1]; last >= b.End() {
				t.Errorf("entries at %v are in two batches (the one at %d ends at %d)", indexes, b.First, b.End())
			}
			return
		}
		at = b.End()
	}
}

// inLog fails unless every index is in the citizen's access log.
func inLog(t *testing.T, h *testHub, citizen string, indexes ...uint64) {
	t.Helper()
	logged := map[uint64]bool{}
	for _, a := range h.accesses(h.token(auth.Principal{Kind: auth.KindCitizen, Subject: citizen}), 50) {
		logged[uint64(a.(map[string]any)["index"].(float64))] = true
	}
	for _, i := range indexes {
		if !logged[i] {
			t.Errorf("entry %d is not in %s's access log", i, citizen)
		}
	}
}

// An application's steps with nothing released between them are appended together: gathered,
// decided, the issue entry and issued in one batch, at consecutive indices (or gathered, decided
// and refused); each is in the citizen's access log, and the application as stored names them.
func TestCertificateStepsAppendedTogether(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	qualifies, fails := homePurchaseCases(t, h, n)
	clerk := h.token(housingClerk)

	r := h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate: %+v", r.Errors)
	}
	app := r.Data["requestCertificate"].(map[string]any)
	idx, issue := issuedSteps(t, app)
	together := []uint64{idx[1], idx[2], issue, idx[3]}
	sameBatch(t, h, together...)
	inLog(t, h, qualifies.id, together...)
	// The received step, the gathering's access entry and the family lookup's, in one batch.
	var first []uint64
	var kinds []string
	for i := idx[0]; i < idx[1]; i++ {
		raw, err := h.app.log.Reader().SequencedEntry(t.Context(), i)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.ParseEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, i)
		kinds = append(kinds, string(e.Kind)+"/"+e.Reason)
	}
	if got := strings.Join(kinds, ","); got != "step/received,access/,access/family-lookup" {
		t.Fatalf("entries from received to gathered: %s; want the received step, the gathering's access, the family lookup", got)
	}
	sameBatch(t, h, first...)
	inLog(t, h, qualifies.id, first...)
	// The issue entry is the certificate's, and the stored application says the same as the answer.
	raw, err := h.app.log.Reader().SequencedEntry(t.Context(), issue)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := ledger.ParseEntry(raw); err != nil || e.Kind != ledger.KindIssue || e.Certificate != app["certificate"].(map[string]any)["id"] {
		t.Errorf("entry %d = %+v, %v; want the certificate's issue entry", issue, e, err)
	}
	stored, err := h.app.storage.store.Application(t.Context(), app["id"].(string))
	if err != nil || stored.Status != "issued" || len(stored.Steps) != 4 || stored.Steps[3].Index != idx[3] {
		t.Errorf("stored application = %+v, %v; want issued with the answer's four steps", stored, err)
	}

	r = h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": fails.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate(not qualifying): %+v", r.Errors)
	}
	refused := r.Data["requestCertificate"].(map[string]any)
	names, idx := stepIndexes(t, refused)
	if got := strings.Join(names, ","); got != "received,gathered,decided,refused" || refused["status"] != "refused" {
		t.Fatalf("application %v, steps %s; want refused after received,gathered,decided,refused", refused["status"], got)
	}
	sameBatch(t, h, idx[1:]...)
	sameBatch(t, h, idx[0], idx[0]+1) // received and the gathering's access
	inLog(t, h, fails.id, idx...)
}

// On a hub that does not sequence (another holds the ledger's lease) the steps cannot be appended
// together: they are forwarded one by one, and the application completes all the same, every entry
// once on the ledger and in the citizen's log.
func TestCertificateOnAFollower(t *testing.T) {
	h1, h2 := twoHubs(t, 10)
	if !h1.app.log.Leading() || h2.app.log.Leading() {
		t.Fatalf("leading: hub 1 %v, hub 2 %v; want hub 1 only", h1.app.log.Leading(), h2.app.log.Leading())
	}
	c := h1.findCitizen(10, "identity")
	tok := h2.token(auth.Principal{Kind: auth.KindCitizen, Subject: c.ID})
	r := h2.query(tok, `mutation { applyForCertificate(type: "identity-proof") { id status steps { name index } certificate { id issueEntry } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("applyForCertificate on the follower: %+v", r.Errors)
	}
	app := r.Data["applyForCertificate"].(map[string]any)
	idx, issue := issuedSteps(t, app)
	all := append(slices.Clone(idx), issue)
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != len(all) || !(idx[2] < issue && issue < idx[3]) {
		t.Errorf("entries at %v (issue %d): want distinct, the issue entry between decided and issued", idx, issue)
	}
	inLog(t, h2, c.ID, all...)
	// Each once on the ledger.
	st := h1.app.storage.store
	var batches []ledger.Batch
	for at := uint64(0); ; {
		b, err := st.ReadBatch(t.Context(), at)
		if errors.Is(err, ledger.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
		at = b.End()
	}
	ours := map[[32]byte]int{}
	for _, b := range batches {
		for k, leaf := range b.Leaves {
			if slices.Contains(all, b.First+uint64(k)) {
				ours[ledger.LeafHash(leaf)] = 0
			}
		}
	}
	for _, b := range batches {
		for _, leaf := range b.Leaves {
			if n, ok := ours[ledger.LeafHash(leaf)]; ok {
				ours[ledger.LeafHash(leaf)] = n + 1
			}
		}
	}
	if len(ours) != len(all) {
		t.Errorf("%d distinct entries at the application's indexes, want %d", len(ours), len(all))
	}
	for h, n := range ours {
		if n != 1 {
			t.Errorf("entry %x stored %d times, want once", h[:4], n)
		}
	}
}
