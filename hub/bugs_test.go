package hub

// Regression tests of hub bugs found while writing and reviewing the package's tests.

import (
	"context"
	"errors"
	"testing"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Update's doc (and buildRecord's "cleared" field line) says a list dataset update carries the
// whole new list, so an empty list clears it; but validate runs dataset.ValidateRecord, which
// requires at least one item, so an empty list is refused as invalid and no list can be cleared.
func TestClearListDataset(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	res, err := f.updater.Update(t.Context(), landClerk, UpdateRequest{Citizen: citizenA, Dataset: "property",
		Purpose: "property-registration", Items: []map[string]any{}})
	if err != nil {
		t.Fatalf("Update(property, empty list) = %v, want the list cleared", err)
	}
	if rec := f.record(t, citizenA, "property"); len(rec.Items) != 0 || rec.Version != res.Version {
		t.Errorf("property after clearing: %d items at version %d, want 0 at %d", len(rec.Items), rec.Version, res.Version)
	}
	if got := fieldLevels(f.entry(t, res.Version)); !equalMaps(got, map[string]string{"property": "cleared"}) {
		t.Errorf("entry fields = %v, want property cleared", got)
	}
}

// Update validates only the fields it is given, while a plain dataset's update keeps the fields
// left out: the merged record can break the dataset's rules across fields, which a single
// update (or Import) carrying the same values is refused for.
func TestMergedRecordBreaksCrossFieldRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	// identity: gender must match the national ID's 17th digit (nationalIDA is a woman's).
	_, err := f.updater.Update(ctx, policeClerk, UpdateRequest{Citizen: citizenA, Dataset: "identity",
		Purpose: "identity-verification", Items: []map[string]any{{"gender": "MALE"}}})
	if !errors.Is(err, ErrInvalid) {
		rec := f.record(t, citizenA, "identity")
		t.Errorf("Update(identity.gender = MALE) for a woman's national ID = %v, want ErrInvalid; stored gender now %v",
			err, rec.Items[0].Plain["gender"])
	}
	// marriage: spouseCitizenId only while MARRIED.
	married := map[string]any{"maritalStatus": "MARRIED", "spouseCitizenId": citizenB, "registeredOn": "2001-01-01"}
	civil := policeClerk
	civil.Department = "civil-affairs"
	if _, err := f.updater.Update(ctx, civil, UpdateRequest{Citizen: citizenA, Dataset: "marriage",
		Purpose: "marriage-registration", Items: []map[string]any{married}}); err != nil {
		t.Fatalf("Update(marriage) = %v", err)
	}
	_, err = f.updater.Update(ctx, civil, UpdateRequest{Citizen: citizenA, Dataset: "marriage",
		Purpose: "marriage-registration", Items: []map[string]any{{"maritalStatus": "SINGLE"}}})
	if !errors.Is(err, ErrInvalid) {
		rec := f.record(t, citizenA, "marriage")
		_, spouse := rec.Items[0].Sealed["spouseCitizenId"]
		t.Errorf("Update(maritalStatus = SINGLE) keeping a spouse = %v, want ErrInvalid; stored: %v with spouse %v",
			err, rec.Items[0].Plain["maritalStatus"], spouse)
	}
}

// cancelAfterPending is the real store, cancelling a context once a pending update is stored: a
// client that goes away while the update waits for the ledger.
type cancelAfterPending struct {
	PendingStore
	cancel context.CancelFunc
}

func (s cancelAfterPending) AddPending(ctx context.Context, p store.Pending) error {
	err := s.PendingStore.AddPending(ctx, p)
	s.cancel()
	return err
}

// When Update's caller goes away while its entry waits in the ledger's queue, the entry still
// lands; so Update waits for the append regardless and writes the record (ARCHITECTURE §1.2: the
// record store is brought to match the ledger).
func TestCanceledUpdateStillMatchesLedger(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	ctx, cancel := context.WithCancel(t.Context())
	cfg := f.updaterConfig()
	cfg.Pending = cancelAfterPending{PendingStore: f.env.Store, cancel: cancel}
	h, err := NewUpdater(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenA, Dataset: "tax", Purpose: "tax-administration",
		Items: []map[string]any{{"annualIncome": int64(300000)}}})
	cancel()
	if err != nil {
		t.Fatalf("Update with the caller gone after the pending update = %v, want it finished", err)
	}
	e, index := f.last(t)
	if e.Kind != ledger.KindUpdate || index != res.Version {
		t.Fatalf("last entry %d is %s, want the update at %d", index, e.Kind, res.Version)
	}
	if after := f.record(t, citizenA, "tax"); after.Version != index || f.open(t, after, "annualIncome", 0) != int64(300000) {
		t.Errorf("record at version %d, want %d with the new income", after.Version, index)
	}
	h.Settle() // this test's own updater: its finished pending update dropped
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates left: %v", ids)
	}
}

// Import used to store every data key of the batch with one unordered insert before the records:
// when one citizen already existed, the keys of the new citizens in the same batch were stored
// anyway, so importing them again (alone, as the error invites) failed with ErrConflict for good.
// Now an existing citizen is refused before anything of theirs is appended or stored.
func TestFailedImportAllowsRetry(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	before := len(f.entries(t))
	err := f.updater.Import(ctx, []NewCitizen{{ID: citizenA, Records: map[string][]map[string]any{"tax": {taxItem()}}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Import(existing %s) = %v, want ErrConflict", citizenA, err)
	}
	if after := len(f.entries(t)); after != before {
		t.Errorf("Import(existing %s) appended %d entries for records it never wrote", citizenA, after-before)
	}
	fresh := NewCitizen{ID: citizenB, Records: map[string][]map[string]any{"tax": {taxItem()}}}
	err = f.updater.Import(ctx, []NewCitizen{{ID: citizenA, Records: map[string][]map[string]any{"tax": {taxItem()}}}, fresh})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Import(existing %s, new %s) = %v, want ErrConflict", citizenA, citizenB, err)
	}
	if ok, _ := f.env.Store.CitizenExists(ctx, citizenB); ok {
		t.Fatalf("%s registered by a failed import", citizenB)
	}
	if err := f.updater.Import(ctx, []NewCitizen{fresh}); err != nil {
		_, kerr := f.env.Store.DataKey(ctx, citizenB)
		t.Fatalf("Import(new %s alone, after the failed batch) = %v, want success (DataKey(%s) = %v)", citizenB, err, citizenB, kerr)
	}
	if got := f.open(t, f.record(t, citizenB, "tax"), "annualIncome", 0); got != int64(180000) {
		t.Errorf("%s's imported income opens to %v, want 180000", citizenB, got)
	}
}

// Two hub instances on one database (ARCHITECTURE §7: several stateless instances may share one
// MongoDB) serialise writers of a record only within their own process. Both build an update on
// version v of one record and append entries i < j. Whichever writes its record second must not
// overwrite the first (its record, built on v, lacks the first one's change) nor be acknowledged:
// ARCHITECTURE §1.7, nothing acknowledged is lost. It used to be acknowledged in both orders: ErrStale
// was ignored when i came second, and j simply overwrote i when j came second.
func TestInterleavedInstancesLoseNoAcknowledgedUpdate(t *testing.T) {
	for _, laterFirst := range []bool{true, false} {
		name := map[bool]string{true: "later entry written first", false: "earlier entry written first"}[laterFirst]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			f.newCitizen(t, citizenA)
			base := f.record(t, citizenA, "tax").Version
			// Both instances paused between their ledger append and their record write.
			pi, _, i := f.crashedUpdate(t, citizenA, "tax", map[string]any{"taxPaid": int64(15000)}, true)
			pj, _, j := f.crashedUpdate(t, citizenA, "tax", map[string]any{"annualIncome": int64(200000)}, true)
			if pi.Base != base || pj.Base != base || i >= j {
				t.Fatalf("pending updates on %d and %d at %d and %d, want both on %d, i < j", pi.Base, pj.Base, i, j, base)
			}
			dk, err := f.reader.keys.dataKey(ctx, citizenA)
			if err != nil {
				t.Fatal(err)
			}
			first, second := pi, pj
			firstAt, secondAt := i, j
			if laterFirst {
				first, second, firstAt, secondAt = pj, pi, j, i
			}
			// Each instance then goes on as apply does: finish, and drop the pending update.
			if _, err := f.updater.finishUpdate(ctx, dk, first, firstAt, nil, nil); err != nil {
				t.Fatalf("finishUpdate(first, %d) = %v", firstAt, err)
			}
			f.updater.dropLater(first.ID)
			if _, err := f.updater.finishUpdate(ctx, dk, second, secondAt, nil, nil); !errors.Is(err, ErrConflict) {
				t.Errorf("finishUpdate(second, %d) over a record moved to %d = %v, want ErrConflict", secondAt, firstAt, err)
			}
			f.updater.dropLater(second.ID)
			rec := f.record(t, citizenA, "tax")
			if rec.Version != firstAt {
				t.Errorf("record at version %d, want %d (the update written first)", rec.Version, firstAt)
			}
			if ids := f.pendingIDs(t); len(ids) != 0 {
				t.Errorf("pending updates left: %v", ids)
			}
			// The overtaken entry is still the citizen's to see.
			f.checkIndexed(t, citizenA, secondAt)
		})
	}
}
