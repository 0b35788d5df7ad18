package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
)

// testErasure: erasure requests by id with a compare-and-swap on their status; tombstones kept
// once added; and the by-_id deletions that erase one citizen (head, data key, records, pending
// updates, access log and private index references, registration), idempotent, leaving every
// other citizen as it was.
func testErasure(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	created := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

	// Requests.
	req := store.Erasure{ID: "e1", Citizen: "C000001", Nonce: []byte("nonce-nonce-nonce-nonce-nonce-32"), Basis: "court-order", Reason: "依法删除",
		ProposedBy: "officer-1", Created: created, Entry: 5, Status: store.ErasurePending}
	if err := s.AddErasure(ctx, req); err != nil {
		t.Fatalf("AddErasure = %v", err)
	}
	if err := s.AddErasure(ctx, req); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddErasure(existing) = %v, want ErrConflict", err)
	}
	if got, err := s.Erasure(ctx, "e1"); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("Erasure(e1) =\n %+v, %v\nwant %+v", got, err, req)
	}
	if _, err := s.Erasure(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Erasure(missing) = %v, want ErrNotFound", err)
	}
	approved := req
	approved.Status, approved.DecidedBy, approved.Decided, approved.DecisionEntry = store.ErasureApproved, "officer-2", created.Add(time.Hour), 9
	if err := s.UpdateErasure(ctx, approved, store.ErasurePending); err != nil {
		t.Fatalf("UpdateErasure(pending → approved) = %v", err)
	}
	if err := s.UpdateErasure(ctx, approved, store.ErasurePending); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateErasure(from a status it no longer has) = %v, want ErrConflict", err)
	}
	if err := s.UpdateErasure(ctx, store.Erasure{ID: "nope", Status: store.ErasureApproved}, store.ErasurePending); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateErasure(missing) = %v, want ErrNotFound", err)
	}
	if err := s.AddErasure(ctx, store.Erasure{ID: "e2", Citizen: "C000002", Basis: "consent-withdrawn", Created: created.Add(time.Minute), Status: store.ErasurePending}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Erasures(ctx, "")
	if err != nil || len(all) != 2 || all[0].ID != "e2" || all[1].ID != "e1" {
		t.Errorf("Erasures(all) = %+v, %v; want e2 then e1", all, err)
	}
	if got, err := s.Erasures(ctx, store.ErasureApproved); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], approved) {
		t.Errorf("Erasures(approved) = %+v, %v", got, err)
	}

	// Tombstones.
	ts := store.Tombstone{Digest: "ab12", Erasure: "e1", Index: 12, Time: created}
	if err := s.AddTombstone(ctx, ts); err != nil {
		t.Fatalf("AddTombstone = %v", err)
	}
	if err := s.AddTombstone(ctx, store.Tombstone{Digest: "ab12", Erasure: "other"}); err != nil {
		t.Errorf("AddTombstone(again) = %v, want nil", err)
	}
	if got, err := s.Tombstone(ctx, "ab12"); err != nil || !reflect.DeepEqual(got, ts) {
		t.Errorf("Tombstone = %+v, %v; want the first one kept, %+v", got, err, ts)
	}
	ts.Receipt = []byte("sealed receipt")
	if err := s.PutTombstone(ctx, ts); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Tombstone(ctx, "ab12"); err != nil || !reflect.DeepEqual(got, ts) {
		t.Errorf("Tombstone after PutTombstone = %+v, %v", got, err)
	}
	if _, err := s.Tombstone(ctx, "cd34"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Tombstone(missing) = %v, want ErrNotFound", err)
	}

	// Deleting one citizen.
	for _, c := range []string{"C000001", "C000002"} {
		if err := s.AddCitizens(ctx, []string{c}, created); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDataKey(ctx, c, []byte("wrapped-"+c)); err != nil {
			t.Fatal(err)
		}
		for _, ds := range []string{"identity", "tax"} {
			if err := s.CreateRecord(ctx, sampleRecord(c, ds, 7)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertRecordHeads(ctx, []store.Head{{Citizen: c, Head: 7, Versions: map[string]uint64{"identity": 7, "tax": 7}, MAC: []byte("mac")}}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPending(ctx, store.Pending{ID: "p-" + c, Record: sampleRecord(c, "tax", store.PendingVersion), Created: created}); err != nil {
			t.Fatal(err)
		}
		for i := uint64(20); i < 23; i++ {
			if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "ps-" + c, Index: i, Salt: []byte("salt"), Time: created}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddSubjectRefs(ctx, []store.SubjectRef{{Pseudonym: "ps-" + c, Index: 30, Salt: []byte("old")}}); err != nil {
			t.Fatal(err)
		}
		// What a hub before store format 3 left: references in the subjects collection, one of
		// them an access in the log, one of no log document.
		addLegacyRefs(t, env, []store.SubjectRef{{Pseudonym: "ps-" + c, Index: 21, Salt: []byte("salt")}, {Pseudonym: "ps-" + c, Index: 31, Salt: []byte("older")}})
		// A former pseudonym (before an index key rotation) whose log was not moved yet.
		if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "old-" + c, Index: 5, Salt: []byte("salt"), Time: created}); err != nil {
			t.Fatal(err)
		}
		addLegacyRefs(t, env, []store.SubjectRef{{Pseudonym: "old-" + c, Index: 6, Salt: []byte("older")}})
	}
	erase := func() {
		t.Helper()
		for name, err := range map[string]error{
			"DeleteRecordHead": s.DeleteRecordHead(ctx, "C000001"),
			"DeleteDataKey":    s.DeleteDataKey(ctx, "C000001"),
			"DeleteRecords":    s.DeleteRecords(ctx, "C000001", []string{"identity", "tax", "health"}),
			"DeletePendingOf":  s.DeletePendingOf(ctx, "C000001"),
			"DeleteSubjectLog": s.DeleteSubjectLog(ctx, "ps-C000001", "old-C000001"),
			"DeleteCitizen":    s.DeleteCitizen(ctx, "C000001"),
		} {
			if err != nil {
				t.Errorf("%s = %v", name, err)
			}
		}
	}
	erase()
	erase() // idempotent
	gone := func(c string) bool {
		_, herr := s.RecordHead(ctx, c)
		_, kerr := s.DataKey(ctx, c)
		recs, rerr := s.Records(ctx, c, []string{"identity", "tax"})
		exists, _ := s.CitizenExists(ctx, c)
		end, _ := s.SubjectLogEnd(ctx, "ps-"+c)
		refs, _ := s.SubjectRefs(ctx, "ps-"+c)
		_, r0 := s.SubjectRef(ctx, "ps-"+c, 20)
		_, r1 := s.SubjectRef(ctx, "ps-"+c, 31)
		oldEnd, _ := s.SubjectLogEnd(ctx, "old-"+c)
		oldRefs, _ := s.SubjectRefs(ctx, "old-"+c)
		return errors.Is(herr, store.ErrNotFound) && errors.Is(kerr, store.ErrNotFound) && rerr == nil && len(recs) == 0 &&
			!exists && end == 0 && len(refs) == 0 && errors.Is(r0, store.ErrNotFound) && errors.Is(r1, store.ErrNotFound) &&
			legacyRefsOf(t, env, "ps-"+c) == 0 && oldEnd == 0 && len(oldRefs) == 0
	}
	if !gone("C000001") {
		t.Error("the erased citizen's head, key, records, registration, access log or index references are still there")
	}
	if h, err := s.RecordHead(ctx, "C000002"); err != nil || h.Head != 7 {
		t.Errorf("the other citizen's head = %+v, %v", h, err)
	}
	if recs, err := s.Records(ctx, "C000002", []string{"identity", "tax"}); err != nil || len(recs) != 2 {
		t.Errorf("the other citizen's records = %d, %v", len(recs), err)
	}
	if end, err := s.SubjectLogEnd(ctx, "ps-C000002"); err != nil || end != 3 {
		t.Errorf("the other citizen's log end = %d, %v", end, err)
	}
	if refs, err := s.SubjectRefs(ctx, "ps-C000002"); err != nil || len(refs) != 5 || legacyRefsOf(t, env, "ps-C000002") != 3 {
		t.Errorf("the other citizen's index references = %+v, %v; want 5, 3 of them in subjects (30, without a log document, and the older hub's 21 and 31)", refs, err)
	}
	if refs, err := s.SubjectRefs(ctx, "old-C000002"); err != nil || len(refs) != 2 {
		t.Errorf("the other citizen's references under a former pseudonym = %+v, %v; want 2", refs, err)
	}
	pending, err := s.PendingUpdates(ctx)
	if err != nil || len(pending) != 1 || pending[0].Record.Citizen != "C000002" {
		t.Errorf("pending updates after erasing C000001 = %+v, %v", pending, err)
	}
	if ok, err := s.CitizenExists(ctx, "C000002"); !ok || err != nil {
		t.Errorf("CitizenExists(other) = %v, %v", ok, err)
	}
	if _, err := s.DataKey(ctx, "C000002"); err != nil {
		t.Errorf("the other citizen's data key: %v", err)
	}
}
