package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

func TestUpdateIdentityRegistersCitizen(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if ok, err := f.env.Store.CitizenExists(ctx, citizenB); err != nil || ok {
		t.Fatalf("CitizenExists(%s) before = %v, %v, want false", citizenB, ok, err)
	}
	res, err := f.updater.Update(ctx, policeClerk, UpdateRequest{Citizen: citizenB, Dataset: "identity",
		Purpose: "identity-verification", Items: []map[string]any{identityItem()}, Request: []byte("register")})
	if err != nil {
		t.Fatalf("Update(identity of new %s) = %v", citizenB, err)
	}
	if ok, err := f.env.Store.CitizenExists(ctx, citizenB); err != nil || !ok {
		t.Errorf("CitizenExists(%s) after = %v, %v, want true", citizenB, ok, err)
	}
	if res.Version != res.Receipt.Index {
		t.Errorf("Version = %d, want the receipt's index %d", res.Version, res.Receipt.Index)
	}
	rec := f.record(t, citizenB, "identity")
	if rec.Version != res.Version {
		t.Errorf("stored version = %d, want %d", rec.Version, res.Version)
	}
	var names []string
	for _, c := range res.Commitments {
		names = append(names, c.Field)
		if c.Commitment.Version != res.Version {
			t.Errorf("commitment of %s has version %d, want %d", c.Field, c.Commitment.Version, res.Version)
		}
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[identity.address identity.birthDate identity.nationalId]" {
		t.Errorf("commitments for %v, want address, birthDate, nationalId", names)
	}
	for field, want := range map[string]any{"nationalId": nationalIDA, "birthDate": "1949-12-31", "address": "北京市朝阳区建国路1号"} {
		if got := f.open(t, rec, field, 0); got != want {
			t.Errorf("stored %s opens to %v, want %v", field, got, want)
		}
	}
	e := f.entry(t, res.Version)
	if e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed || e.Dataset != "identity" || e.Base != 0 {
		t.Errorf("entry = kind %s outcome %s dataset %s base %d, want an allowed identity update from nothing", e.Kind, e.Outcome, e.Dataset, e.Base)
	}
	if got := fieldLevels(e); len(got) != 6 || got["identity.name"] != "set" {
		t.Errorf("entry fields = %v, want the six identity fields set", got)
	}
	f.checkIndexed(t, citizenB, res.Version)

	// The citizen can now open their own commitment, and it is the one the update returned.
	o, _, err := f.reader.OpenOwn(ctx, auth.Principal{Kind: auth.KindCitizen, Subject: citizenB}, "identity.address", 0)
	if err != nil {
		t.Fatalf("OpenOwn = %v", err)
	}
	if o.Value != "北京市朝阳区建国路1号" || o.Version != res.Version {
		t.Errorf("OpenOwn = %v at %d, want the address at %d", o.Value, o.Version, res.Version)
	}
	for _, c := range res.Commitments {
		if c.Field == "identity.address" && c.Commitment.Point != o.Commitment.String() {
			t.Errorf("OpenOwn commitment %s, the update returned %s", o.Commitment, c.Commitment.Point)
		}
	}
	f.checkNoClearData(t, citizenB, "王小红", nationalIDA, "北京市朝阳区建国路1号", "1949-12-31")
}

func TestUpdateNoSuchCitizen(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const ghost = "C999999"
	_, err := f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: ghost, Dataset: "tax", Purpose: "tax-administration",
		Items: []map[string]any{{"annualIncome": int64(5000)}}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update(tax of %s) = %v, want ErrNotFound", ghost, err)
	}
	e, index := f.last(t)
	if e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeDenied || e.Reason != "no-such-citizen" || e.Dataset != "tax" {
		t.Errorf("last entry = kind %s outcome %s reason %q dataset %s, want a denied tax update, no-such-citizen", e.Kind, e.Outcome, e.Reason, e.Dataset)
	}
	if got := fieldLevels(e); !equalMaps(got, map[string]string{"tax.annualIncome": "deny"}) {
		t.Errorf("last entry fields = %v, want tax.annualIncome deny", got)
	}
	if e.Record != nil || e.Fields[0].Commitment != "" {
		t.Errorf("a refused update carries a record digest %x or commitment %q", e.Record, e.Fields[0].Commitment)
	}
	f.checkIndexed(t, ghost, index)
	if _, err := f.env.Store.Record(ctx, ghost, "tax"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(%s, tax) = %v, want ErrNotFound", ghost, err)
	}
	if _, err := f.env.Store.DataKey(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DataKey(%s) = %v, want ErrNotFound: a refused update makes no key", ghost, err)
	}
	if ok, _ := f.env.Store.CitizenExists(ctx, ghost); ok {
		t.Errorf("a refused update registered %s", ghost)
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates = %v, want none", ids)
	}
}

func TestUpdateRefusals(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	before := f.record(t, citizenA, "tax")
	tests := []struct {
		name    string
		p       auth.Principal
		req     UpdateRequest
		want    error
		reason  string // of the logged refusal; "" when nothing is logged
		purpose string // on the entry
	}{
		{"other department", housingClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"taxPaid": int64(1)}}},
			ErrForbidden, "forbidden", "tax-administration"},
		{"owner for another purpose", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "home-purchase-eligibility", Items: []map[string]any{{"taxPaid": int64(1)}}},
			ErrForbidden, "forbidden", "home-purchase-eligibility"},
		{"citizen", auth.Principal{Kind: auth.KindCitizen, Department: "tax", Role: "clerk", Subject: citizenA},
			UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"taxPaid": int64(1)}}}, ErrForbidden, "forbidden", "tax-administration"},
		{"unregistered purpose", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "because 王小红 asked", Items: []map[string]any{{"taxPaid": int64(1)}}},
			ErrUnknownPurpose, "unknown-purpose", ""},
		{"invalid value", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"taxPaid": int64(-1)}}},
			ErrInvalid, "", ""},
		{"int where int64 is due", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"taxPaid": 1}}},
			ErrInvalid, "", ""},
		{"unknown field", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"refund": int64(1)}}},
			ErrInvalid, "", ""},
		{"nothing to update", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{}}},
			ErrInvalid, "", ""},
		{"two items for a plain dataset", taxClerk, UpdateRequest{Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"year": int64(2020)}, {"year": int64(2021)}}},
			ErrInvalid, "", ""},
		{"no such dataset", taxClerk, UpdateRequest{Dataset: "pets", Purpose: "tax-administration", Items: []map[string]any{{"year": int64(2020)}}},
			ErrInvalid, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Citizen = citizenA
			size := len(f.entries(t))
			_, err := f.updater.Update(t.Context(), tt.p, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Update = %v, want %v", err, tt.want)
			}
			all := f.entries(t)
			if tt.reason == "" {
				if len(all) != size {
					t.Errorf("Update appended %d entries for an invalid request, want none", len(all)-size)
				}
			} else {
				if len(all) != size+1 {
					t.Fatalf("Update appended %d entries, want 1", len(all)-size)
				}
				e := all[size]
				if e.Outcome != ledger.OutcomeDenied || e.Reason != tt.reason || e.Purpose != tt.purpose {
					t.Errorf("entry outcome %s reason %q purpose %q, want denied %q %q", e.Outcome, e.Reason, e.Purpose, tt.reason, tt.purpose)
				}
				for _, fl := range e.Fields {
					if fl.Level != "deny" || fl.Commitment != "" {
						t.Errorf("refusal entry field %+v, want deny without commitment", fl)
					}
				}
			}
			after := f.record(t, citizenA, "tax")
			if after.Version != before.Version {
				t.Errorf("record version %d → %d after a refused update", before.Version, after.Version)
			}
		})
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates = %v, want none", ids)
	}
	f.checkNoClearData(t, "王小红")
}

func TestUpdateListReplacesWholeList(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	if n := len(f.record(t, citizenA, "property").Items); n != 2 {
		t.Fatalf("imported property has %d items, want 2", n)
	}
	newItem := map[string]any{"certificateNo": "粤(2023)天河区不动产权第0003号", "city": "广州市", "area": 75.0,
		"address": "广州市天河区天河路3号", "acquiredOn": "2023-08-08"}
	res, err := f.updater.Update(ctx, landClerk, UpdateRequest{Citizen: citizenA, Dataset: "property",
		Purpose: "property-registration", Items: []map[string]any{newItem}})
	if err != nil {
		t.Fatalf("Update(property) = %v", err)
	}
	rec := f.record(t, citizenA, "property")
	if len(rec.Items) != 1 {
		t.Fatalf("property has %d items after replacing with one, want 1", len(rec.Items))
	}
	if rec.Items[0].Plain["city"] != "广州市" || rec.Items[0].Plain["certificateNo"] != newItem["certificateNo"] {
		t.Errorf("property item = %v, want the new one", rec.Items[0].Plain)
	}
	if got := f.open(t, rec, "address", 0); got != "广州市天河区天河路3号" {
		t.Errorf("address opens to %v, want the new address", got)
	}
	if len(res.Commitments) != 1 || res.Commitments[0].Field != "property.address#0" {
		t.Errorf("commitments = %+v, want one for property.address#0", res.Commitments)
	}
	e := f.entry(t, res.Version)
	want := map[string]string{"property.certificateNo#0": "set", "property.city#0": "set", "property.area#0": "set",
		"property.address#0": "set", "property.acquiredOn#0": "set"}
	if got := fieldLevels(e); !equalMaps(got, want) {
		t.Errorf("entry fields = %v, want %v", got, want)
	}
	view, err := f.reader.ReadCitizen(ctx, landClerk, ReadRequest{Citizen: citizenA, Purpose: "property-registration",
		Fields: map[string]Want{"property.city": WantValue, "property.address": WantValue}})
	if err != nil {
		t.Fatalf("ReadCitizen = %v", err)
	}
	if items := view.Datasets["property"].Items; len(items) != 1 || items[0]["address"].Value != "广州市天河区天河路3号" {
		t.Errorf("read back %v, want the one new item", items)
	}
	f.checkNoClearData(t, "广州市天河区天河路3号", "广州市")
}

// Updates of different fields of one record, from many goroutines at once, are each applied on top
// of the others: none is lost, each gets its own version.
func TestConcurrentUpdatesOfOneRecord(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	const (
		perField = 3 // goroutines writing each field
		rounds   = 4 // updates by each goroutine
	)
	// Writer g of a field writes value(g, i) in its round i; whichever update of a field got the
	// highest version must be the value that survives.
	fields := []struct {
		name  string
		value func(g, i int) any
	}{
		{"insured", func(g, i int) any { return (g+i)%2 == 0 }},
		{"employer", func(g, i int) any { return fmt.Sprintf("单位%d-%d", g, i) }},
		{"contributionMonths", func(g, i int) any { return int64(100*g + i) }},
		{"monthlyBase", func(g, i int) any { return int64(8000 + 100*g + i) }},
	}
	type write struct {
		field string
		value any
	}
	var (
		mu       sync.Mutex
		versions = map[uint64]write{}
		wg       sync.WaitGroup
	)
	for _, fl := range fields {
		for g := range perField {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					v := fl.value(g, i)
					res, err := f.updater.Update(ctx, hrssClerk, UpdateRequest{Citizen: citizenA, Dataset: "socialInsurance",
						Purpose: "social-insurance-administration", Items: []map[string]any{{fl.name: v}}})
					if err != nil {
						t.Errorf("Update(%s = %v) = %v", fl.name, v, err)
						return
					}
					mu.Lock()
					if other, dup := versions[res.Version]; dup {
						t.Errorf("version %d given to both %s and %s", res.Version, other.field, fl.name)
					}
					versions[res.Version] = write{fl.name, v}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if want := len(fields) * perField * rounds; len(versions) != want {
		t.Errorf("%d distinct versions, want %d", len(versions), want)
	}
	var top uint64
	last := map[string]uint64{} // field → version of its last update
	for v, w := range versions {
		top = max(top, v)
		last[w.field] = max(last[w.field], v)
	}
	rec := f.record(t, citizenA, "socialInsurance")
	if rec.Version != top {
		t.Errorf("record version = %d, want the last update's %d", rec.Version, top)
	}
	for _, fl := range fields {
		want := versions[last[fl.name]].value
		var got any
		if sf, ok := rec.Items[0].Sealed[fl.name]; ok {
			got = f.open(t, rec, fl.name, 0)
			if sf.Version != last[fl.name] {
				t.Errorf("%s sealed under version %d, want its last update's %d", fl.name, sf.Version, last[fl.name])
			}
		} else {
			got = rec.Items[0].Plain[fl.name]
		}
		if got != want {
			t.Errorf("%s = %v, want %v from its last update %d (an update was lost)", fl.name, got, want, last[fl.name])
		}
	}
	// Each update's entry names the version it replaced: the updates form one chain, so none was
	// written over another it had not seen.
	all := f.entries(t)
	based := map[uint64]bool{}
	for v := range versions {
		if based[all[v].Base] {
			t.Errorf("two updates are based on version %d", all[v].Base)
		}
		based[all[v].Base] = true
	}
	for v := range versions {
		if v != top && !based[v] {
			t.Errorf("no update is based on version %d: it was overwritten unseen", v)
		}
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates = %v, want none", ids)
	}
}

// writeCounter is the real store, counting how an update writes a citizen's document: with its
// head at once (PutHeadAndRecord), or the record apart from the head.
type writeCounter struct {
	RecordStore
	together, apart int
}

func (c *writeCounter) PutHeadAndRecord(ctx context.Context, w store.HeadAndRecord) error {
	c.together++
	return c.RecordStore.PutHeadAndRecord(ctx, w)
}

func (c *writeCounter) ReplaceRecord(ctx context.Context, r store.Record, base uint64) error {
	c.apart++
	return c.RecordStore.ReplaceRecord(ctx, r, base)
}

func (c *writeCounter) CreateRecord(ctx context.Context, r store.Record) error {
	c.apart++
	return c.RecordStore.CreateRecord(ctx, r)
}

// An update whose citizen's head and record are as it found them (no other writer came between)
// writes the two in one write of the citizen's document: for a new citizen, for a first record
// beside others, and over a record. The head then names the update and the record reads back.
func TestUpdateWritesHeadWithRecord(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	counter := &writeCounter{RecordStore: f.env.Store}
	cfg := f.updaterConfig()
	cfg.Records = counter
	u, err := NewUpdater(cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := []UpdateRequest{
		{Citizen: citizenB, Dataset: "identity", Purpose: "identity-verification", Items: []map[string]any{identityItem()}},
		{Citizen: citizenB, Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"annualIncome": int64(300000)}}},
		{Citizen: citizenB, Dataset: "tax", Purpose: "tax-administration", Items: []map[string]any{{"annualIncome": int64(310000)}}},
	}
	for i, req := range steps {
		p := policeClerk
		if req.Dataset == "tax" {
			p = taxClerk
		}
		res, err := u.Update(ctx, p, req)
		if err != nil {
			t.Fatalf("step %d: Update(%s) = %v", i, req.Dataset, err)
		}
		if counter.together != i+1 || counter.apart != 0 {
			t.Errorf("step %d: %d writes of head and record together, %d records written apart; want %d and 0", i, counter.together, counter.apart, i+1)
		}
		h, err := f.env.Store.RecordHead(ctx, citizenB)
		if err != nil || h.Head != res.Version || h.Versions[req.Dataset] != res.Version {
			t.Errorf("step %d: head %+v (%v); want it at %d", i, h, err, res.Version)
		}
		if rec := f.record(t, citizenB, req.Dataset); rec.Version != res.Version {
			t.Errorf("step %d: %s record at %d, want %d", i, req.Dataset, rec.Version, res.Version)
		}
	}
	// The record reads back through the integrity check, with the last value.
	view, err := f.reader.ReadCitizen(ctx, taxClerk, ReadRequest{Citizen: citizenB, Purpose: "tax-administration",
		Fields: map[string]Want{"tax.annualIncome": WantValue}})
	if err != nil {
		t.Fatalf("ReadCitizen after the updates = %v", err)
	}
	if got := view.Datasets["tax"].Items[0]["annualIncome"].Value; got != int64(310000) {
		t.Errorf("annualIncome reads %v, want 310000", got)
	}
}

// countingDeletes is the real store, recording the ids each delete of pending updates carries.
type countingDeletes struct {
	PendingStore
	mu      sync.Mutex
	deletes [][]string
}

func (s *countingDeletes) DeletePending(ctx context.Context, ids ...string) error {
	s.mu.Lock()
	s.deletes = append(s.deletes, slices.Clone(ids))
	s.mu.Unlock()
	return s.PendingStore.DeletePending(ctx, ids...)
}

func (s *countingDeletes) counts() (deletes, ids int, sizes []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deletes {
		ids += len(d)
		sizes = append(sizes, len(d))
	}
	return len(s.deletes), ids, sizes
}

// Finished pending updates are deleted after the response, those finishing within dropDelay of
// each other in one delete (each delete is a durable write behind the embedded store's one
// writer), and all of them without waiting for a stop; Settle deletes at once what still waits.
func TestFinishedPendingUpdatesShareDeletes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	cfg := f.updaterConfig()
	counted := &countingDeletes{PendingStore: f.env.Store}
	cfg.Pending = counted
	u, err := NewUpdater(cfg)
	if err != nil {
		t.Fatal(err)
	}
	update := func(i int) {
		t.Helper()
		if _, err := u.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenA, Dataset: "tax", Purpose: "tax-administration",
			Items: []map[string]any{{"annualIncome": int64(100000 + i)}}}); err != nil {
			t.Fatalf("Update %d = %v", i, err)
		}
	}
	left := func() int {
		t.Helper()
		ps, err := f.env.Store.PendingUpdates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(ps)
	}

	const n = 12
	start := time.Now()
	for i := range n {
		update(i)
	}
	took := time.Since(start)
	for deadline := time.Now().Add(10 * time.Second); left() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d finished pending updates still stored 10 s after their updates answered", left())
		}
	}
	deletes, ids, sizes := counted.counts()
	if ids != n {
		t.Errorf("the deletes carried %d ids (%v), want the %d updates'", ids, sizes, n)
	}
	// One delete a dropDelay at most while updates finish, and one after the last.
	t.Logf("%d updates in %s: %d deletes of pending updates carrying %v ids", n, took, deletes, sizes)
	if most := int(took/dropDelay) + 2; most < n && deletes > most {
		t.Errorf("%d updates in %s made %d deletes of pending updates (%v), want at most %d", n, took, deletes, sizes, most)
	}

	// A graceful stop deletes what waits without waiting for its turn.
	update(n)
	u.Settle()
	if k := left(); k != 0 {
		t.Errorf("after Settle %d finished pending updates are still stored", k)
	}

	// More than one delete carries wait for no timer.
	counted.mu.Lock()
	counted.deletes = nil
	counted.mu.Unlock()
	for i := range maxDropGroup + 44 {
		u.dropLater(fmt.Sprintf("gone-%d", i)) // ids not stored: deleting them is no error
	}
	deletes, _, sizes = counted.counts()
	for deadline := time.Now().Add(10 * time.Second); deletes == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		deletes, _, sizes = counted.counts()
	}
	if deletes != 1 || sizes[0] != maxDropGroup {
		t.Errorf("%d ids dropped: deletes before their turn %v, want one of %d", maxDropGroup+44, sizes, maxDropGroup)
	}
	u.Settle()
	if _, _, sizes = counted.counts(); !slices.Equal(sizes, []int{maxDropGroup, 44}) {
		t.Errorf("after Settle the deletes carried %v ids, want [%d 44]", sizes, maxDropGroup)
	}
}
