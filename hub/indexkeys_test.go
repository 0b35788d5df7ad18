package hub

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/store"
)

// After an index key rotation, records MAC'd under the old key still load; RemacRecords MACs them
// again under the new key, except a record altered behind the hub's back, which stays refused;
// and an Integrity holding the new key alone then loads every other record.
func TestIntegrityIndexKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, "C000001")
	f.newCitizen(t, "C000002")
	datasets := []string{"identity", "tax", "property"}

	ring := subject.FixedRing(f.indexKey)
	in, err := NewIntegrity(IntegrityConfig{IndexKeys: ring, Heads: f.env.Store, Snapshots: f.env.Store})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.CatchUp(ctx, f.log.Reader(), nil); err != nil {
		t.Fatal(err)
	}
	newKey := make([]byte, subject.KeySize)
	rand.Read(newKey)
	if err := ring.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"C000001", "C000002"} {
		if _, err := in.loadFresh(ctx, f.env.Store, c, datasets); err != nil {
			t.Fatalf("load(%s) under the old key after the rotation = %v", c, err)
		}
	}

	// C2's tax record is changed behind the hub's back, its old MAC kept.
	rec := f.record(t, "C000002", "tax")
	rec.Items[0].Plain["year"] = int64(1999)
	if err := f.env.Store.ReplaceRecord(ctx, rec, rec.Version); err != nil {
		t.Fatal(err)
	}
	var calls int
	pr, err := in.RemacRecords(ctx, f.env.Store, func(RemacProgress) { calls++ })
	// 2 heads and 6 records; one record refused.
	if err != nil || pr.Seen != 8 || pr.Remaced != 7 || pr.Refused != 1 || pr.Current != 0 || calls == 0 {
		t.Fatalf("RemacRecords = %+v, %v (%d progress calls); want 8 seen, 7 re-MAC'd, 1 refused", pr, err, calls)
	}
	if got := f.record(t, "C000002", "tax"); !bytes.Equal(got.MAC, rec.MAC) {
		t.Errorf("the altered record was MAC'd again")
	}
	if _, err := in.loadFresh(ctx, f.env.Store, "C000002", []string{"tax"}); !errors.Is(err, ErrIntegrity) {
		t.Errorf("load of the altered record after the re-MAC = %v, want ErrIntegrity", err)
	}

	// The new key alone now checks everything else.
	only, err := NewIntegrity(IntegrityConfig{IndexKeys: subject.FixedRing(newKey), Heads: f.env.Store})
	if err != nil {
		t.Fatal(err)
	}
	if err := only.CatchUp(ctx, f.log.Reader(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := only.loadFresh(ctx, f.env.Store, "C000001", datasets); err != nil {
		t.Errorf("load(C000001) under the new key alone after the re-MAC = %v", err)
	}
	if _, err := only.loadFresh(ctx, f.env.Store, "C000002", []string{"identity", "property"}); err != nil {
		t.Errorf("load(C000002) under the new key alone after the re-MAC = %v", err)
	}
	// Run again: nothing left to do but the refused record.
	if pr, err := in.RemacRecords(ctx, f.env.Store, nil); err != nil || pr.Remaced != 0 || pr.Current != 7 || pr.Refused != 1 {
		t.Errorf("a second RemacRecords = %+v, %v", pr, err)
	}
}

// A tombstone named under an earlier index key still stops the citizen, and erasures on the
// ledger under an earlier key are replayed on a restored store.
func TestErasuresUnderEarlierIndexKey(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, "C000001")
	f.newCitizen(t, "C000002")
	ring := subject.FixedRing(f.indexKey)
	newKey := make([]byte, subject.KeySize)
	rand.Read(newKey)
	if err := ring.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	ts, err := NewTombstoneRing(f.env.Store, ring)
	if err != nil {
		t.Fatal(err)
	}
	old := hex.EncodeToString(ErasureDigest(f.indexKey, "C000009"))
	if err := f.env.Store.AddTombstone(ctx, store.Tombstone{Digest: old, Erasure: "e1", Index: 3}); err != nil {
		t.Fatal(err)
	}
	if gone, err := ts.Erased(ctx, "C000009"); !gone || err != nil {
		t.Errorf("Erased(tombstone under the old key) = %v, %v; want true", gone, err)
	}
	if gone, err := ts.Erased(ctx, "C000001"); gone || err != nil {
		t.Errorf("Erased(C1) = %v, %v; want false", gone, err)
	}

	sealed, err := NewSealedEraser(f.env.Store, f.master)
	if err != nil {
		t.Fatal(err)
	}
	erased := map[string]uint64{string(ErasureDigest(f.indexKey, "C000001")): 7}
	rep, err := ReplayErasures(ctx, ReplayConfig{Heads: f.env.Store, Shred: f.env.Store, Questions: f.env.Store, Tombstones: f.env.Store,
		Requests: f.env.Store, Sealed: sealed, IndexKeys: ring}, erased)
	if err != nil || rep.Citizens != 1 {
		t.Fatalf("ReplayErasures(an erasure under the old key) = %+v, %v; want 1 citizen", rep, err)
	}
	if gone, err := ts.Erased(ctx, "C000001"); !gone || err != nil {
		t.Errorf("after the replay Erased(C1) = %v, %v; want true", gone, err)
	}
	if _, err := f.env.Store.RecordHead(ctx, "C000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the replay C1's record head: %v, want none", err)
	}
	if _, err := f.env.Store.RecordHead(ctx, "C000002"); err != nil {
		t.Errorf("after the replay C2's record head: %v", err)
	}
}
