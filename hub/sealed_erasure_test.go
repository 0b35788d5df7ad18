package hub

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// TestSealedErasure: erasing a citizen destroys the details, salt and oversight copy of their
// sealed accesses, keeps the public counts, and no unseal (by date or early) discloses them; the
// other citizen's sealed access is untouched until a replay names them.
func TestSealedErasure(t *testing.T) {
	f, s, oversight := sealedFixture(t)
	f.newCitizen(t, citizenA)
	f.newCitizen(t, citizenB)
	ctx := t.Context()
	unseal := day(sealedClock.Now(), 10)
	sealedRead := func(citizen string) (uint64, store.SealedAccess) {
		t.Helper()
		view, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizen, Purpose: sealedPurpose,
			Fields: map[string]Want{"identity.name": WantValue, "identity.address": WantValue}, Request: []byte(`{citizen}`),
			Seal: &SealRequest{CourtOrder: "(2026)京0105刑侦字第9号", UnsealOn: unseal}})
		if err != nil {
			t.Fatalf("sealed ReadCitizen(%s) = %v", citizen, err)
		}
		e := f.entry(t, view.Receipt.Index)
		kept, err := f.env.Store.SealedAccess(ctx, hex.EncodeToString(e.Sealed.Case))
		if err != nil {
			t.Fatal(err)
		}
		return view.Receipt.Index, kept
	}
	ia, keptA := sealedRead(citizenA)
	ib, keptB := sealedRead(citizenB)
	if counts, err := s.Counts(ctx); err != nil || len(counts) != 1 || counts[0].Count != 2 {
		t.Fatalf("Counts = %v, %v, want public-security 2", counts, err)
	}

	er, err := NewSealedEraser(f.env.Store, f.master)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := er.EraseCitizen(ctx, citizenA); n != 1 || err != nil {
		t.Fatalf("EraseCitizen = %d, %v, want 1", n, err)
	}
	if n, err := er.EraseCitizen(ctx, citizenA); n != 0 || err != nil {
		t.Fatalf("EraseCitizen again = %d, %v, want 0 (idempotent)", n, err)
	}
	got, err := f.env.Store.SealedAccess(ctx, keptA.ID)
	if err != nil || !got.Erased || got.Oversight != nil || got.Index != ia || !got.Indexed || string(got.Box) == string(keptA.Box) {
		t.Fatalf("the erased citizen's sealed access = %+v, %v: want erased, a new box, no oversight copy", got, err)
	}
	b, err := s.rd.sealer.unlock(got.ID, got.Box)
	if err != nil || b.Citizen != "" || b.Salt != nil || b.Details != "" || !b.Erased || b.Department != "public-security" {
		t.Fatalf("the erased box holds %+v, %v: want the department alone", b, err)
	}
	if _, err := OpenOversight(got.Oversight, oversight); err == nil {
		t.Error("the oversight body still reads the erased citizen's sealed access")
	}
	if other, err := f.env.Store.SealedAccess(ctx, keptB.ID); err != nil || other.Erased {
		t.Fatalf("the other citizen's sealed access = %+v, %v, want untouched", other, err)
	}
	if _, err := OpenOversight(keptB.Oversight, oversight); err != nil {
		t.Fatalf("the other citizen's oversight copy = %v", err)
	}

	// No early unseal: refused before anything goes on the ledger.
	_, before := f.last(t)
	if _, _, err := s.SealedState(ctx, ia); !errors.Is(err, ErrErased) {
		t.Errorf("SealedState(erased) = %v, want ErrErased", err)
	}
	if _, err := s.UnsealEarly(ctx, privacyOfficer, ia); !errors.Is(err, ErrErased) {
		t.Errorf("UnsealEarly(erased) = %v, want ErrErased", err)
	}
	if d, err := s.Disclosure(ctx, citizenPA, ia); err == nil || d != nil {
		t.Errorf("Disclosure(erased) = %+v, %v, want nothing", d, err)
	}
	if _, after := f.last(t); after != before {
		t.Fatalf("refusing to unseal an erased access appended entry %d", after)
	}

	// On the date, the job unseals the other alone; the counts stay right.
	sealedClock.add(11 * 24 * time.Hour)
	t.Cleanup(func() { sealedClock.add(-11 * 24 * time.Hour) })
	if n, err := s.UnsealDue(ctx); n != 1 || err != nil {
		t.Fatalf("UnsealDue = %d, %v, want 1 (the other citizen's)", n, err)
	}
	if ue, _ := f.last(t); ue.Kind != ledger.KindUnseal || ue.About != ib {
		t.Fatalf("last entry = %+v, want the unseal of %d", ue, ib)
	}
	if n, err := s.UnsealDue(ctx); n != 0 || err != nil {
		t.Fatalf("UnsealDue again = %d, %v, want 0", n, err)
	}
	if counts, err := s.Counts(ctx); err != nil || len(counts) != 1 || counts[0] != (DepartmentCount{Department: "public-security", Count: 2}) {
		t.Fatalf("Counts after the erasure = %v, %v, want public-security 2", counts, err)
	}

	// A replay (a restore) erases by the digests on the ledger: the other citizen's unsealed
	// access goes too, the first is not erased twice.
	erased := map[string]uint64{string(ErasureDigest(f.indexKey, citizenA)): 90, string(ErasureDigest(f.indexKey, citizenB)): 91}
	if n, err := er.ReplaySealedErasures(ctx, f.indexKey, erased); n != 1 || err != nil {
		t.Fatalf("ReplaySealedErasures = %d, %v, want 1", n, err)
	}
	if other, err := f.env.Store.SealedAccess(ctx, keptB.ID); err != nil || !other.Erased || !other.Unsealed || other.Oversight != nil {
		t.Fatalf("the replayed citizen's sealed access = %+v, %v, want erased and still marked unsealed", other, err)
	}
	if d, err := s.Disclosure(ctx, citizenPB, ib); err == nil || d != nil {
		t.Errorf("Disclosure(replayed erasure) = %+v, %v, want nothing", d, err)
	}

	// A sealed read that raced an erasure (its records found, the tombstone written after) erases
	// its own box and releases nothing.
	ts, err := NewTombstones(f.env.Store, f.indexKey)
	if err != nil {
		t.Fatal(err)
	}
	f.integrity.erased = ts
	const citizenC = "C100003"
	f.newCitizen(t, citizenC)
	if err := f.env.Store.AddTombstone(ctx, store.Tombstone{Digest: hex.EncodeToString(ErasureDigest(f.indexKey, citizenC)), Erasure: "e1"}); err != nil {
		t.Fatal(err)
	}
	_, before = f.last(t)
	_, err = f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenC, Purpose: sealedPurpose,
		Fields: map[string]Want{"identity.name": WantValue}, Seal: &SealRequest{CourtOrder: "(2026)002", UnsealOn: day(sealedClock.Now(), 10)}})
	if !errors.Is(err, ErrErased) {
		t.Fatalf("sealed ReadCitizen racing an erasure = %v, want ErrErased", err)
	}
	if _, after := f.last(t); after != before {
		t.Errorf("a sealed read racing an erasure appended entry %d", after)
	}
	all, err := f.env.Store.SealedAccesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if !a.Erased {
			if b, err := s.rd.sealer.unlock(a.ID, a.Box); err != nil || b.Citizen == citizenC {
				t.Errorf("a sealed access naming the erased citizen is kept: %+v, %v", a, err)
			}
		}
	}

	// A box that does not open leaves the erasure unfinished: whether it names the citizen is
	// unknown.
	bad := store.SealedAccess{ID: hex.EncodeToString(make([]byte, 32)), UnsealOn: unseal, Box: []byte{0, 1, 2}, Oversight: []byte("x"), Created: sealedClock.Now()}
	if err := f.env.Store.AddSealedAccess(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := er.EraseCitizen(ctx, citizenA); err == nil {
		t.Error("EraseCitizen with a box that does not open = nil, want an error")
	}
}
