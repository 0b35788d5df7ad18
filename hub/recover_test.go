package hub

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// crashedUpdate runs the first half of Update by hand, as a hub that crashes after its ledger
// append would have: it builds the record over the stored one, stores the pending update and,
// with appendIt, appends the update entry. It returns the pending update, the entry and, when
// appended, its index.
func (f *fixture) crashedUpdate(t *testing.T, citizen, dsName string, item map[string]any, appendIt bool) (store.Pending, ledger.Entry, uint64) {
	t.Helper()
	ctx := t.Context()
	h := f.updater
	ds, _ := dataset.Lookup(dsName)
	if err := validate(ds, []map[string]any{item}); err != nil {
		t.Fatalf("validate = %v", err)
	}
	cur, err := f.env.Store.Record(ctx, citizen, dsName)
	hadBase := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Record = %v", err)
	}
	var base *store.Record
	if hadBase {
		base = &cur
	}
	head, err := f.env.Store.RecordHead(ctx, citizen)
	hadHead := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordHead = %v", err)
	}
	dk, err := h.dataKeyOrNew(ctx, citizen)
	if err != nil {
		t.Fatalf("dataKey = %v", err)
	}
	rec, fields, err := h.buildRecord(dk, citizen, ds, base, []map[string]any{item})
	if err != nil {
		t.Fatalf("buildRecord = %v", err)
	}
	salt, subj, err := h.subject(citizen)
	if err != nil {
		t.Fatal(err)
	}
	entry := ledger.Entry{
		Kind: ledger.KindUpdate, Time: h.now(), Department: ds.Owner, Role: "clerk", Purpose: ds.AdminPurpose,
		Policy: h.policy.Snapshot().Version(), Request: h.requestDigest([]byte("crash test")), Outcome: ledger.OutcomeAllowed,
		Dataset: ds.Name, Base: head.Head, Record: recordDigest(rec), Subjects: [][]byte{subj}, Fields: fields,
	}
	leaf, err := ledger.FormatEntry(entry)
	if err != nil {
		t.Fatalf("FormatEntry = %v", err)
	}
	pend := store.Pending{
		ID: usecase.RandomID(h.rand), Record: rec, Base: cur.Version, HadBase: hadBase, LeafHash: leafHashOf(leaf),
		After: h.log.Latest().Size, SubjectSalt: salt, Created: h.now(), HeadBase: head.Head, HadHead: hadHead,
	}
	if err := h.pending.AddPending(ctx, pend); err != nil {
		t.Fatalf("AddPending = %v", err)
	}
	if !appendIt {
		return pend, entry, 0
	}
	r, err := h.log.Append(ctx, entry)
	if err != nil {
		t.Fatalf("Append = %v", err)
	}
	if !bytes.Equal(r.LeafHash[:], pend.LeafHash) {
		t.Fatalf("appended leaf hash %x, the pending update expects %x", r.LeafHash[:], pend.LeafHash)
	}
	return pend, entry, r.Index
}

// pendingIDs lists the pending updates left, once those of finished updates are dropped (Settle).
func (f *fixture) pendingIDs(t *testing.T) []string {
	t.Helper()
	f.updater.Settle()
	ps, err := f.env.Store.PendingUpdates(t.Context())
	if err != nil {
		t.Fatalf("PendingUpdates = %v", err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestRecoverAppliesUpdateOnLedger(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	before := f.record(t, citizenA, "tax")

	_, entry, index := f.crashedUpdate(t, citizenA, "tax", map[string]any{"annualIncome": int64(250000), "year": int64(2025)}, true)
	if got := f.record(t, citizenA, "tax"); got.Version != before.Version {
		t.Fatalf("before recovery the record is at version %d, want still %d", got.Version, before.Version)
	}

	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Applied: 1}) {
		t.Errorf("Recover = %+v, want Applied 1", rep)
	}
	rec := f.record(t, citizenA, "tax")
	if rec.Version != index {
		t.Errorf("recovered record version = %d, want the entry index %d", rec.Version, index)
	}
	if got := f.open(t, rec, "annualIncome", 0); got != int64(250000) {
		t.Errorf("recovered annualIncome = %v, want 250000", got)
	}
	if got := rec.Items[0].Plain["year"]; got != int64(2025) {
		t.Errorf("recovered year = %v, want 2025", got)
	}
	// The field the update did not touch keeps its value and the version it was sealed under.
	if got := f.open(t, rec, "taxPaid", 0); got != int64(12000) {
		t.Errorf("recovered taxPaid = %v, want the untouched 12000", got)
	}
	if got, want := rec.Items[0].Sealed["taxPaid"].Version, before.Version; got != want {
		t.Errorf("untouched taxPaid sealed under version %d, want %d", got, want)
	}
	if got := rec.Items[0].Sealed["annualIncome"].Version; got != index {
		t.Errorf("annualIncome sealed under version %d, want %d", got, index)
	}
	// The record matches its ledger entry.
	if got := recordDigest(rec); !bytes.Equal(got, entry.Record) {
		t.Errorf("recordDigest(recovered) = %x, the entry says %x", got, entry.Record)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
	f.checkIndexed(t, citizenA, index)

	// Again: nothing to do, nothing changes.
	rep, err = f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("second Recover = %v", err)
	}
	if rep != (RecoveryReport{}) {
		t.Errorf("second Recover = %+v, want nothing done", rep)
	}
	if again := f.record(t, citizenA, "tax"); again.Version != rec.Version || !bytes.Equal(recordDigest(again), recordDigest(rec)) {
		t.Errorf("second Recover changed the record: version %d → %d", rec.Version, again.Version)
	}
}

func TestRecoverDropsUpdateNeverLogged(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	before := f.record(t, citizenA, "tax")
	size := len(f.entries(t))

	f.crashedUpdate(t, citizenA, "tax", map[string]any{"annualIncome": int64(999999)}, false)
	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Dropped: 1}) {
		t.Errorf("Recover = %+v, want Dropped 1", rep)
	}
	after := f.record(t, citizenA, "tax")
	if after.Version != before.Version || !bytes.Equal(recordDigest(after), recordDigest(before)) {
		t.Errorf("record changed by dropping an unlogged update: version %d → %d", before.Version, after.Version)
	}
	if got := f.open(t, after, "annualIncome", 0); got != int64(180000) {
		t.Errorf("annualIncome = %v, want the old 180000", got)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
	if got := len(f.entries(t)); got != size {
		t.Errorf("Recover appended %d ledger entries, want none", got-size)
	}
	rep, err = f.updater.Recover(ctx, 0)
	if err != nil || rep != (RecoveryReport{}) {
		t.Errorf("second Recover = %+v, %v, want nothing done", rep, err)
	}
}

// A crash after the record write but before the pending update was dropped: Recover finishes the
// bookkeeping and leaves the record as it is.
func TestRecoverAfterRecordWritten(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	pend, _, index := f.crashedUpdate(t, citizenA, "tax", map[string]any{"taxPaid": int64(15000)}, true)
	dk, err := f.reader.keys.dataKey(ctx, citizenA)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sealAt(dk, pend.Record, index)
	if err != nil {
		t.Fatalf("sealAt = %v", err)
	}
	if err := f.env.Store.ApplyRecord(ctx, rec); err != nil {
		t.Fatalf("ApplyRecord = %v", err)
	}
	written := f.record(t, citizenA, "tax")

	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Applied: 1}) {
		t.Errorf("Recover = %+v, want Applied 1", rep)
	}
	got := f.record(t, citizenA, "tax")
	if got.Version != index || !bytes.Equal(recordDigest(got), recordDigest(written)) {
		t.Errorf("Recover rewrote a written record: version %d, want %d", got.Version, index)
	}
	if v := f.open(t, got, "taxPaid", 0); v != int64(15000) {
		t.Errorf("taxPaid = %v, want 15000", v)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
	f.checkIndexed(t, citizenA, index)
}

// Several interrupted updates, some logged and some not, are each settled the right way.
func TestRecoverMixed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	f.newCitizen(t, citizenB)
	_, _, ia := f.crashedUpdate(t, citizenA, "tax", map[string]any{"annualIncome": int64(300000)}, true)
	f.crashedUpdate(t, citizenB, "tax", map[string]any{"annualIncome": int64(1)}, false)
	_, _, ib := f.crashedUpdate(t, citizenB, "identity", map[string]any{"address": "上海市黄浦区南京东路3号"}, true)

	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Applied: 2, Dropped: 1}) {
		t.Errorf("Recover = %+v, want Applied 2, Dropped 1", rep)
	}
	if rec := f.record(t, citizenA, "tax"); rec.Version != ia || f.open(t, rec, "annualIncome", 0) != int64(300000) {
		t.Errorf("%s tax: version %d, want %d with the new income", citizenA, rec.Version, ia)
	}
	if rec := f.record(t, citizenB, "tax"); f.open(t, rec, "annualIncome", 0) != int64(180000) {
		t.Errorf("%s tax changed by an update never logged", citizenB)
	}
	if rec := f.record(t, citizenB, "identity"); rec.Version != ib || f.open(t, rec, "address", 0) != "上海市黄浦区南京东路3号" {
		t.Errorf("%s identity: version %d, want %d with the new address", citizenB, rec.Version, ib)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
}

// A crash in the middle of the identity update that registers a new citizen: Recover writes the
// record and registers the citizen.
func TestRecoverRegistersNewCitizen(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, _, index := f.crashedUpdate(t, citizenB, "identity", identityItem(), true)
	if ok, _ := f.env.Store.CitizenExists(ctx, citizenB); ok {
		t.Fatalf("%s registered before recovery", citizenB)
	}
	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Applied: 1}) {
		t.Errorf("Recover = %+v, want Applied 1", rep)
	}
	if ok, err := f.env.Store.CitizenExists(ctx, citizenB); err != nil || !ok {
		t.Errorf("CitizenExists(%s) after Recover = %v, %v, want true", citizenB, ok, err)
	}
	rec := f.record(t, citizenB, "identity")
	if rec.Version != index || f.open(t, rec, "nationalId", 0) != nationalIDA || rec.Items[0].Plain["name"] != "王小红" {
		t.Errorf("recovered identity at version %d, want %d with the new values", rec.Version, index)
	}
	f.checkIndexed(t, citizenB, index)
}

// Instances sharing a database settle only pending updates older than their margin: an update
// still in flight on another instance is left alone.
func TestRecoverLeavesYoungPendingUpdates(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	p := store.Pending{ID: "young", Record: f.record(t, citizenA, "tax"), LeafHash: make([]byte, 32), Created: time.Now()}
	if err := f.env.Store.AddPending(ctx, p); err != nil {
		t.Fatal(err)
	}
	rep, err := f.updater.Recover(ctx, time.Minute)
	if err != nil || rep.Applied+rep.Dropped != 0 {
		t.Fatalf("Recover(margin 1m) = %+v, %v; want the young update left alone", rep, err)
	}
	if ids := f.pendingIDs(t); len(ids) != 1 {
		t.Errorf("pending updates = %v, want the young one kept", ids)
	}
	if rep, err := f.updater.Recover(ctx, 0); err != nil || rep.Dropped != 1 {
		t.Errorf("Recover(0) = %+v, %v; want the never-logged update dropped", rep, err)
	}
}

// An interrupted update overtaken by a later one (acknowledged, written over the same base):
// Recover must not write the interrupted update's record over the acknowledged one, and drops it.
func TestRecoverDropsOvertakenUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	_, _, interrupted := f.crashedUpdate(t, citizenA, "tax", map[string]any{"taxPaid": int64(15000)}, true)
	res, err := f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenA, Dataset: "tax", Purpose: "tax-administration",
		Items: []map[string]any{{"annualIncome": int64(200000)}}})
	if err != nil {
		t.Fatalf("Update = %v", err)
	}
	if res.Version <= interrupted {
		t.Fatalf("acknowledged update at %d, want after the interrupted one at %d", res.Version, interrupted)
	}
	f.updater.Settle() // the acknowledged update's pending update dropped, as before a recovery at start
	rep, err := f.updater.Recover(ctx, 0)
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	if rep != (RecoveryReport{Dropped: 1}) {
		t.Errorf("Recover = %+v, want Dropped 1", rep)
	}
	rec := f.record(t, citizenA, "tax")
	if rec.Version != res.Version || f.open(t, rec, "annualIncome", 0) != int64(200000) {
		t.Errorf("tax record at %d, want the acknowledged update at %d with income 200000", rec.Version, res.Version)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
}

// An update finished live whose pending update was not yet dropped when its process stopped (the
// drop comes after the response: dropLater): recovery finishes it again, which changes nothing,
// and does not append its entry to the citizen's access log a second time.
func TestRecoverDoesNotIndexAFinishedUpdateTwice(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	p, _, index := f.crashedUpdate(t, citizenA, "tax", map[string]any{"taxPaid": int64(15000)}, true)
	dk, err := f.reader.keys.dataKey(ctx, citizenA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.updater.finishUpdate(ctx, dk, p, index, nil, nil); err != nil {
		t.Fatalf("finishUpdate = %v", err)
	}
	name, err := f.reader.pseudonym(ctx, citizenA)
	if err != nil {
		t.Fatal(err)
	}
	end := func() uint64 {
		t.Helper()
		page, err := f.env.Store.SubjectLog(ctx, name, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return page.End
	}
	before := end()
	if rep, err := f.updater.Recover(ctx, 0); err != nil || rep != (RecoveryReport{Applied: 1}) {
		t.Fatalf("Recover = %+v, %v; want the finished update applied (again: no change)", rep, err)
	}
	if after := end(); after != before {
		t.Errorf("the access log of %s ends at %d after recovery, %d before: entry %d was logged again", citizenA, after, before, index)
	}
	f.checkIndexed(t, citizenA, index)
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates after Recover = %v, want none", ids)
	}
	if rec := f.record(t, citizenA, "tax"); rec.Version != index {
		t.Errorf("tax record at %d, want %d", rec.Version, index)
	}
}
