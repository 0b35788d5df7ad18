package hub

import (
	"errors"
	"testing"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

func TestImport(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	if ok, err := f.env.Store.CitizenExists(ctx, citizenA); err != nil || !ok {
		t.Fatalf("CitizenExists(%s) = %v, %v, want true", citizenA, ok, err)
	}
	all := f.entries(t)
	for _, ds := range []string{"identity", "tax", "property"} {
		rec := f.record(t, citizenA, ds)
		e := all[rec.Version]
		d, _ := dataset.Lookup(ds)
		if e.Kind != ledger.KindUpdate || e.Dataset != ds || e.Department != d.Owner || e.Role != ImportRole || e.Purpose != d.AdminPurpose {
			t.Errorf("%s: entry %d = %s %s by %s/%s for %s, want an update by %s/%s for %s",
				ds, rec.Version, e.Kind, e.Dataset, e.Department, e.Role, e.Purpose, d.Owner, ImportRole, d.AdminPurpose)
		}
		if got := recordDigest(rec); string(got) != string(e.Record) {
			t.Errorf("%s: stored record digest %x, entry %d says %x", ds, got, rec.Version, e.Record)
		}
		f.checkIndexed(t, citizenA, rec.Version)
	}
	if got := f.open(t, f.record(t, citizenA, "property"), "address", 1); got != "上海市浦东新区世纪大道2号" {
		t.Errorf("property.address#1 opens to %v", got)
	}
	f.checkNoClearData(t, citizenA, "王小红", nationalIDA, "北京市朝阳区建国路1号")
}

func TestImportRejectsInvalidRecord(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		citizen NewCitizen
	}{
		{"invalid value", NewCitizen{ID: "C200001", Records: map[string][]map[string]any{
			"tax": {{"year": int64(1800)}}}}},
		{"cross-field rule", NewCitizen{ID: "C200002", Records: map[string][]map[string]any{
			"tax": {{"annualIncome": int64(10), "taxPaid": int64(20)}}}}},
		{"duplicate list key", NewCitizen{ID: "C200003", Records: map[string][]map[string]any{
			"property": {propertyItems()[0], propertyItems()[0]}}}},
		{"bad citizen id", NewCitizen{ID: "X200004", Records: map[string][]map[string]any{
			"tax": {taxItem()}}}},
		{"no such dataset", NewCitizen{ID: "C200005", Records: map[string][]map[string]any{
			"pets": {{"name": "旺财"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.updater.Import(ctx, []NewCitizen{tt.citizen})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Import = %v, want ErrInvalid", err)
			}
			if ok, _ := f.env.Store.CitizenExists(ctx, tt.citizen.ID); ok {
				t.Errorf("a refused import registered %s", tt.citizen.ID)
			}
			if _, err := f.env.Store.DataKey(ctx, tt.citizen.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DataKey(%s) = %v, want ErrNotFound", tt.citizen.ID, err)
			}
		})
	}
	var verr *dataset.ValidationError
	err := f.updater.Import(ctx, []NewCitizen{tests[0].citizen})
	if !errors.As(err, &verr) || verr.Field != "tax.year" {
		t.Errorf("Import(tax.year 1800) = %v, want a *dataset.ValidationError for tax.year", err)
	}
}

func TestImportRejectsExistingCitizen(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	before := f.record(t, citizenA, "tax")
	err := f.updater.Import(ctx, []NewCitizen{{ID: citizenA, Records: map[string][]map[string]any{
		"tax": {{"year": int64(2030), "annualIncome": int64(1), "taxPaid": int64(0)}}}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Import(existing %s) = %v, want store.ErrConflict", citizenA, err)
	}
	after := f.record(t, citizenA, "tax")
	if after.Version != before.Version || f.open(t, after, "annualIncome", 0) != int64(180000) {
		t.Errorf("importing an existing citizen changed their record: version %d → %d", before.Version, after.Version)
	}

	// Also when their existing records are not among those imported: the data key is theirs.
	err = f.updater.Import(ctx, []NewCitizen{{ID: citizenA, Records: map[string][]map[string]any{
		"health": {{"bloodType": "O+"}}}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Import(existing %s, new dataset) = %v, want store.ErrConflict", citizenA, err)
	}
	if _, err := f.env.Store.Record(ctx, citizenA, "health"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(%s, health) = %v, want ErrNotFound", citizenA, err)
	}
	// The key they had still opens their values.
	if got := f.open(t, f.record(t, citizenA, "identity"), "address", 0); got != "北京市朝阳区建国路1号" {
		t.Errorf("address opens to %v after a refused import", got)
	}
}
