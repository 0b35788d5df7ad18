package hub

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store/storetest"
)

// Updates of several datasets of one citizen, with reads of that citizen between them, never
// raise an integrity alert: the head and the records are only briefly out of step, and a read
// reads again.
func TestConcurrentUpdatesAndReadsRaiseNoAlert(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				var err error
				switch w {
				case 0:
					_, err = f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenA, Dataset: "tax", Purpose: "tax-administration",
						Items: []map[string]any{{"annualIncome": int64(100000 + i)}}})
				case 1:
					_, err = f.updater.Update(ctx, policeClerk, UpdateRequest{Citizen: citizenA, Dataset: "identity", Purpose: "identity-verification",
						Items: []map[string]any{{"hukouCity": fmt.Sprintf("城市%d", i)}}})
				default:
					_, err = f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: citizenA, Purpose: "home-purchase-eligibility",
						Fields: map[string]Want{"identity.hukouCity": WantValue, "tax.annualIncome": WantCommitment}})
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d, round %d: %w", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.integrity.Alerts(); n != 0 {
		t.Errorf("Alerts = %d, want 0", n)
	}
}

// A store written before record integrity: the migration authenticates the records the ledger
// vouches for, gives each citizen a head, and reports a record rolled back before it.
func TestMigrateIntegrity(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// One dataset per citizen: entries then read the same under the old meaning of the base line
	// (the record's previous version) and the new one (the citizen's previous update).
	for _, id := range []string{citizenA, citizenB} {
		if err := f.updater.Import(ctx, []NewCitizen{{ID: id, Records: map[string][]map[string]any{"tax": {taxItem()}}}}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(id string, income int64) {
		if _, err := f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: id, Dataset: "tax", Purpose: "tax-administration",
			Items: []map[string]any{{"annualIncome": income}}}); err != nil {
			t.Fatal(err)
		}
	}
	update(citizenA, 200000)
	// Each citizen's record head and records are in their document of record_heads
	// (store/mongostore/heads.go), here as a store before format 4 held them.
	if err := storetest.UnpackCitizens(ctx, f.env.DB); err != nil {
		t.Fatal(err)
	}
	docs := f.env.DB.Collection("record_heads")
	var saved struct {
		Records struct {
			Tax bson.RawValue `bson:"tax"`
		} `bson:"records"`
	}
	if err := docs.FindOne(ctx, bson.D{{Key: "_id", Value: citizenB}}).Decode(&saved); err != nil {
		t.Fatal(err)
	}
	update(citizenB, 300000)
	if err := storetest.UnpackCitizens(ctx, f.env.DB); err != nil {
		t.Fatal(err)
	}
	// As before record integrity: no MACs, no heads; and B's record rolled back.
	if _, err := docs.UpdateOne(ctx, bson.D{{Key: "_id", Value: citizenB}}, bson.D{{Key: "$set", Value: bson.D{{Key: "records.tax", Value: saved.Records.Tax}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := docs.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "records.tax.mac", Value: ""},
		{Key: "head", Value: ""}, {Key: "versions", Value: ""}, {Key: "mac", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}

	var err error
	// A hub started afresh on that store.
	f.integrity = newIntegrity(t, f.indexKey, f.env.Store, f.log)
	if f.updater, err = NewUpdater(f.updaterConfig()); err != nil {
		t.Fatal(err)
	}
	if f.reader, err = NewReader(f.readerConfig()); err != nil {
		t.Fatal(err)
	}
	read := func(id string) error {
		_, err := f.reader.ReadCitizen(ctx, taxClerk, ReadRequest{Citizen: id, Purpose: "tax-administration",
			Fields: map[string]Want{"tax.annualIncome": WantValue}})
		return err
	}
	if err := read(citizenA); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("before the migration ReadCitizen = %v, want ErrIntegrity", err)
	}
	rep, err := f.updater.MigrateIntegrity(ctx, f.log.Reader(), f.env.Store)
	if !errors.Is(err, ErrIntegrity) || len(rep.Problems) != 1 || rep.Problems[0].Citizen != citizenB ||
		!strings.Contains(rep.Problems[0].Reason, "rolled back") {
		t.Fatalf("MigrateIntegrity = %+v, %v; want one problem, %s's rolled-back tax record", rep, err, citizenB)
	}
	if rep.Records != 2 || rep.Citizens != 1 {
		t.Errorf("MigrateIntegrity = %+v, want 2 records read, 1 citizen with a head", rep)
	}
	if err := read(citizenA); err != nil {
		t.Errorf("after the migration ReadCitizen(%s) = %v", citizenA, err)
	}
	if err := read(citizenB); !errors.Is(err, ErrIntegrity) {
		t.Errorf("after the migration ReadCitizen(%s, rolled back) = %v, want ErrIntegrity", citizenB, err)
	}
	// Resumable: run again, the same outcome, nothing written twice.
	if rep, err := f.updater.MigrateIntegrity(ctx, f.log.Reader(), f.env.Store); !errors.Is(err, ErrIntegrity) || len(rep.Problems) != 1 {
		t.Errorf("MigrateIntegrity again = %+v, %v", rep, err)
	}
	update(citizenA, 250000)
	if err := read(citizenA); err != nil {
		t.Errorf("after an update ReadCitizen(%s) = %v", citizenA, err)
	}
}

// A crash after the head moved but before the record was written: the read refuses (the record
// is behind its head) until recovery writes the record, which it does once, idempotently.
func TestRecoverAfterHeadWritten(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	pend, _, index := f.crashedUpdate(t, citizenA, "tax", map[string]any{"annualIncome": int64(250000)}, true)
	f.integrity.note(pend.HeadBase)
	if err := f.updater.writeHead(ctx, pend, index); err != nil {
		t.Fatalf("writeHead = %v", err)
	}
	read := func() error {
		_, err := f.reader.ReadCitizen(ctx, taxClerk, ReadRequest{Citizen: citizenA, Purpose: "tax-administration",
			Fields: map[string]Want{"tax.annualIncome": WantValue}})
		return err
	}
	if err := read(); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("ReadCitizen with the head ahead of the record = %v, want ErrIntegrity", err)
	}
	for range 2 {
		rep, err := f.updater.Recover(ctx, 0)
		if err != nil {
			t.Fatalf("Recover = %v", err)
		}
		if rec := f.record(t, citizenA, "tax"); rec.Version != index {
			t.Errorf("after Recover (%+v) the record is at %d, want %d", rep, rec.Version, index)
		}
	}
	if err := read(); err != nil {
		t.Errorf("ReadCitizen after recovery = %v", err)
	}
}
