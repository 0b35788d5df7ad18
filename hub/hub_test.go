package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// update rewrites the golden files of testdata/ instead of comparing with them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Principals of the demo policy.
var (
	policeClerk  = auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "p1"}
	taxClerk     = auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}
	hrssClerk    = auth.Principal{Kind: auth.KindDepartment, Department: "hrss", Role: "clerk", Subject: "s1"}
	landClerk    = auth.Principal{Kind: auth.KindDepartment, Department: "natural-resources", Role: "clerk", Subject: "n1"}
	housingClerk = auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "h1"}
)

// fixture is the hub's capabilities on a real store (embedded FerretDB) and a real ledger, under
// the demo policy.
type fixture struct {
	env       *storetest.Env
	log       *ledger.Log
	engine    *policy.Engine
	master    *seal.MasterKey
	indexKey  []byte
	officials *usecase.Officials
	integrity *Integrity
	reader    *Reader
	updater   *Updater
}

// readerConfig is a Reader's configuration on the fixture's store, ledger and keys.
func (f *fixture) readerConfig() ReaderConfig {
	return ReaderConfig{Records: f.env.Store, Lister: f.env.Store, Keys: f.env.Store, Master: f.master,
		Index: f.env.Store, Ledger: f.log, Policy: f.engine, IndexKey: f.indexKey, Officials: f.officials, Integrity: f.integrity}
}

// updaterConfig is an Updater's configuration on the fixture's store, ledger and keys.
func (f *fixture) updaterConfig() UpdaterConfig {
	return UpdaterConfig{Records: f.env.Store, Keys: f.env.Store, Master: f.master, Pending: f.env.Store,
		Index: f.env.Store, Ledger: f.log, Leaves: f.log.Reader(), Policy: f.engine, IndexKey: f.indexKey, Officials: f.officials,
		Integrity: f.integrity}
}

// newIntegrity is record integrity under the key derived from indexKey, caught up with lg.
func newIntegrity(t testing.TB, indexKey []byte, st interface {
	HeadStore
	SnapshotStore
}, lg *ledger.Log) *Integrity {
	t.Helper()
	key, err := IntegrityKey(indexKey)
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewIntegrity(IntegrityConfig{Key: key, Heads: st, Snapshots: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := in.CatchUp(t.Context(), lg.Reader(), nil); err != nil {
		t.Fatalf("CatchUp = %v", err)
	}
	return in
}

// newOfficials names officials under a fresh officials key, recorded in dir.
func newOfficials(t testing.TB, dir usecase.OfficialDirectory) *usecase.Officials {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	o, err := usecase.NewOfficials(key, dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newLedger(t testing.TB, storage ledger.Storage) *ledger.Log {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "govhub.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	// The log outlives t.Context(), which ends before cleanups run: it must write what is queued.
	life, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	lg, err := ledger.New(life, ledger.Config{Storage: storage, Signer: signer, Verifier: verifier},
		ledger.WithIntegrationInterval(10*time.Millisecond))
	if err != nil {
		cancel()
		t.Fatalf("ledger.New = %v", err)
	}
	t.Cleanup(func() {
		ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := lg.Shutdown(ctx); err != nil {
			t.Errorf("ledger Shutdown = %v", err)
		}
		cancel()
	})
	return lg
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := storetest.Embedded(t)
	lg := newLedger(t, env.Store)
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatalf("policy.New = %v", err)
	}
	mk := make([]byte, 32)
	index := make([]byte, 32)
	rand.Read(mk)
	rand.Read(index)
	master, err := seal.NewMasterKey(mk)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: env, log: lg, engine: engine, master: master, indexKey: index, officials: newOfficials(t, env.Store)}
	f.integrity = newIntegrity(t, index, env.Store, lg)
	if f.reader, err = NewReader(f.readerConfig()); err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	if f.updater, err = NewUpdater(f.updaterConfig()); err != nil {
		t.Fatalf("NewUpdater = %v", err)
	}
	return f
}

// entries returns every sequenced ledger entry, read back from storage and parsed, in index order.
func (f *fixture) entries(t *testing.T) []ledger.Entry {
	t.Helper()
	var out []ledger.Entry
	for first := uint64(0); ; {
		b, err := f.env.Store.ReadBatch(t.Context(), first)
		if errors.Is(err, ledger.ErrNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("ReadBatch(%d) = %v", first, err)
		}
		for i, leaf := range b.Leaves {
			e, err := ledger.ParseEntry(leaf)
			if err != nil {
				t.Fatalf("entry %d: ParseEntry = %v", b.First+uint64(i), err)
			}
			out = append(out, e)
		}
		first = b.End()
	}
}

// entry returns the ledger entry at index.
func (f *fixture) entry(t *testing.T, index uint64) ledger.Entry {
	t.Helper()
	all := f.entries(t)
	if index >= uint64(len(all)) {
		t.Fatalf("no ledger entry %d (the ledger holds %d)", index, len(all))
	}
	return all[index]
}

// last returns the last ledger entry and its index.
func (f *fixture) last(t *testing.T) (ledger.Entry, uint64) {
	t.Helper()
	all := f.entries(t)
	if len(all) == 0 {
		t.Fatal("the ledger is empty")
	}
	return all[len(all)-1], uint64(len(all) - 1)
}

// checkIndexed checks that ledger entry index is in the citizen's private subject index and access
// log, and that the entry's subject commitment is the citizen's under the indexed salt (for a list
// page, that it is in the page's subject tree by the indexed path).
func (f *fixture) checkIndexed(t *testing.T, citizen string, index uint64) {
	t.Helper()
	name, err := f.reader.pseudonym(t.Context(), citizen)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := f.env.Store.SubjectRef(t.Context(), name, index)
	if err != nil {
		t.Fatalf("entry %d is not in the subject index of %s: %v", index, citizen, err)
	}
	e := f.entry(t, index)
	want := subject.Commit(ref.Salt, citizen)
	if e.SubjectRoot != nil {
		if ref.Page == nil {
			t.Fatalf("entry %d has a subject tree but the index holds no path for %s", index, citizen)
		}
		path := make([]tlog.Hash, len(ref.Page.Hashes))
		for i, h := range ref.Page.Hashes {
			copy(path[i][:], h)
		}
		if err := ledger.CheckSubjectPath(tlog.Hash(e.SubjectRoot), want, ref.Page.Position, path); err != nil {
			t.Fatalf("entry %d: %s's commitment is not in the page's subject tree: %v", index, citizen, err)
		}
	} else if !slices.ContainsFunc(e.Subjects, func(s []byte) bool { return string(s) == string(want) }) {
		t.Fatalf("entry %d carries subjects %x, none is %s's commitment under the indexed salt", index, e.Subjects, citizen)
	}
	page, err := f.env.Store.SubjectLog(t.Context(), name, 0, 100)
	if err != nil {
		t.Fatalf("SubjectLog = %v", err)
	}
	for _, r := range page.Refs {
		if r.Index == index {
			return
		}
	}
	t.Fatalf("entry %d is not in the access log of %s", index, citizen)
}

// fieldLevels maps an entry's field names to their levels.
func fieldLevels(e ledger.Entry) map[string]string {
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Name] = f.Level
	}
	return m
}

// Test citizens: valid records of every kind the tests write.
const (
	citizenA = "C100001"
	citizenB = "C100002"
	// nationalIDA is a valid GB 11643 number for a woman born 1949-12-31 (17th digit even).
	nationalIDA = "11010519491231002X"
)

func identityItem() map[string]any {
	return map[string]any{
		"name": "王小红", "gender": "FEMALE", "hukouCity": "北京市", "nationalId": nationalIDA,
		"birthDate": "1949-12-31", "address": "北京市朝阳区建国路1号",
	}
}

func taxItem() map[string]any {
	return map[string]any{"year": int64(2024), "annualIncome": int64(180000), "taxPaid": int64(12000)}
}

func propertyItems() []map[string]any {
	return []map[string]any{
		{"certificateNo": "京(2020)朝阳区不动产权第0001号", "city": "北京市", "area": 89.5, "address": "北京市朝阳区建国路1号", "acquiredOn": "2020-05-01"},
		{"certificateNo": "沪(2018)浦东新区不动产权第0002号", "city": "上海市", "area": 120.25, "address": "上海市浦东新区世纪大道2号", "acquiredOn": "2018-03-15"},
	}
}

// newCitizen imports a citizen with identity, tax and property records.
func (f *fixture) newCitizen(t *testing.T, id string) {
	t.Helper()
	err := f.updater.Import(t.Context(), []NewCitizen{{ID: id, Records: map[string][]map[string]any{
		"identity": {identityItem()}, "tax": {taxItem()}, "property": propertyItems(),
	}}})
	if err != nil {
		t.Fatalf("Import(%s) = %v", id, err)
	}
}

// open unseals the sensitive field of a stored record item and checks it opens its commitment.
func (f *fixture) open(t *testing.T, rec store.Record, field string, item int) any {
	t.Helper()
	ds, _ := dataset.Lookup(rec.Dataset)
	fl, ok := ds.Field(field)
	if !ok {
		t.Fatalf("no field %s.%s", rec.Dataset, field)
	}
	sf, ok := rec.Items[item].Sealed[field]
	if !ok {
		t.Fatalf("record %s/%s item %d has no sealed %s", rec.Citizen, rec.Dataset, item, field)
	}
	dk, err := f.reader.keys.dataKey(t.Context(), rec.Citizen)
	if err != nil {
		t.Fatalf("dataKey(%s) = %v", rec.Citizen, err)
	}
	v, err := openValue(dk, rec.Citizen, ds, fl, item, sf)
	if err != nil {
		t.Fatalf("openValue(%s.%s#%d) = %v", rec.Dataset, field, item, err)
	}
	return v
}

func (f *fixture) record(t *testing.T, citizen, ds string) store.Record {
	t.Helper()
	rec, err := f.env.Store.Record(t.Context(), citizen, ds)
	if err != nil {
		t.Fatalf("Record(%s, %s) = %v", citizen, ds, err)
	}
	return rec
}

func TestNewChecksConfig(t *testing.T) {
	env := storetest.Embedded(t)
	lg := newLedger(t, env.Store)
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.NewMasterKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: env, log: lg, engine: engine, master: master, indexKey: make([]byte, 32), officials: newOfficials(t, env.Store)}
	f.integrity = newIntegrity(t, f.indexKey, env.Store, lg)
	t.Run("Reader", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(c *ReaderConfig)
			ok     bool
		}{
			{"complete", func(c *ReaderConfig) {}, true},
			{"no records", func(c *ReaderConfig) { c.Records = nil }, false},
			{"no lister", func(c *ReaderConfig) { c.Lister = nil }, false},
			{"no keys", func(c *ReaderConfig) { c.Keys = nil }, false},
			{"no subject index", func(c *ReaderConfig) { c.Index = nil }, false},
			{"no ledger", func(c *ReaderConfig) { c.Ledger = nil }, false},
			{"no officials", func(c *ReaderConfig) { c.Officials = nil }, false},
			{"no policy", func(c *ReaderConfig) { c.Policy = nil }, false},
			{"no master key", func(c *ReaderConfig) { c.Master = nil }, false},
			{"short index key", func(c *ReaderConfig) { c.IndexKey = make([]byte, 16) }, false},
			{"long index key", func(c *ReaderConfig) { c.IndexKey = make([]byte, 33) }, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := f.readerConfig()
				tt.change(&c)
				_, err := NewReader(c)
				if (err == nil) != tt.ok {
					t.Errorf("NewReader(%s) = %v, want ok %v", tt.name, err, tt.ok)
				}
			})
		}
	})
	t.Run("Updater", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(c *UpdaterConfig)
			ok     bool
		}{
			{"complete", func(c *UpdaterConfig) {}, true},
			{"no records", func(c *UpdaterConfig) { c.Records = nil }, false},
			{"no keys", func(c *UpdaterConfig) { c.Keys = nil }, false},
			{"no pending store", func(c *UpdaterConfig) { c.Pending = nil }, false},
			{"no subject index", func(c *UpdaterConfig) { c.Index = nil }, false},
			{"no ledger", func(c *UpdaterConfig) { c.Ledger = nil }, false},
			{"no leaf finder", func(c *UpdaterConfig) { c.Leaves = nil }, false},
			{"no officials", func(c *UpdaterConfig) { c.Officials = nil }, false},
			{"no policy", func(c *UpdaterConfig) { c.Policy = nil }, false},
			{"no master key", func(c *UpdaterConfig) { c.Master = nil }, false},
			{"no integrity", func(c *UpdaterConfig) { c.Integrity = nil }, false},
			{"short index key", func(c *UpdaterConfig) { c.IndexKey = make([]byte, 16) }, false},
			{"long index key", func(c *UpdaterConfig) { c.IndexKey = make([]byte, 33) }, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := f.updaterConfig()
				tt.change(&c)
				_, err := NewUpdater(c)
				if (err == nil) != tt.ok {
					t.Errorf("NewUpdater(%s) = %v, want ok %v", tt.name, err, tt.ok)
				}
			})
		}
	})
	t.Run("Review", func(t *testing.T) {
		if _, err := NewReview(nil, nil); err == nil {
			t.Error("NewReview(nil, nil) = nil error, want one")
		}
		if _, err := NewReview(lg, nil); err == nil {
			t.Error("NewReview(ledger, nil) = nil error, want one")
		}
		if _, err := NewReview(lg, lg.Reader()); err != nil {
			t.Errorf("NewReview(ledger) = %v", err)
		}
	})
}
