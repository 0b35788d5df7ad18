package main

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/storetest"
)

const adultQuery = `query($id: ID!, $purpose: String!) { citizen(id: $id, purpose: $purpose) {
	identity { birthDate { commitment { scheme point version } proof(predicate: "adult") {
		holds proof context commitment { scheme point } predicate { name field statement { kind min max } } } } } } }`

// legacyHub is a hub on the embedded store whose n demo citizens were imported as before scheme
// v2: their birth dates are committed as hashes.
func legacyHub(t *testing.T, n int) *testHub {
	t.Helper()
	h := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	h.open()
	a := h.app
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	st, k := a.storage.store, a.keys
	legacy, err := hub.NewUpdater(hub.UpdaterConfig{Records: st, Keys: st, Master: k.master, Pending: st, Index: st,
		Ledger: a.ledger(), Leaves: a.log.Reader(), Policy: engine, IndexKey: k.index, Officials: a.officials, Integrity: a.integrity},
		hub.WithHashedDates())
	if err != nil {
		t.Fatal(err)
	}
	if err := importDemo(t.Context(), legacy, h.gen, n, nil); err != nil {
		t.Fatalf("importing the legacy citizens: %v", err)
	}
	return h
}

// `govhub migrate dates` on a store written with hashed dates: every birth date is re-committed
// through an update entry, a second run does nothing, `govhub ledger verify` (the ledger and every
// record) passes, commitments read as v2, the citizen's opening verifies under v2, and the adult
// predicate that failed before is proven, verifiable offline by `govhub verify-proof`.
func TestMigrateDatesCommand(t *testing.T) {
	const n = 6
	h := legacyHub(t, n)
	c := h.gen.Citizen(1)
	vars := map[string]any{"id": c.ID, "purpose": "identity-verification"}
	// Before: the hashed date cannot be proven about; the read fails, it is never answered "no".
	r := h.query(h.token(policeClerk), adultQuery, vars)
	if len(r.Errors) == 0 || get(r.Data, "citizen", "identity", "birthDate", "proof") != nil {
		t.Fatalf("adult before the migration = %v, %+v; want an error and no answer", r.Data, r.Errors)
	}
	if e := r.Errors[0]; e.Extensions["code"] != "UNAVAILABLE" || !strings.Contains(e.Message, "govhub migrate dates") {
		t.Errorf("error before the migration = %q (%v), want UNAVAILABLE naming govhub migrate dates", e.Message, e.Extensions["code"])
	}
	h.close()

	migrate := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"migrate", "dates", "--data-dir", h.dir, "--quiet", "--log-level", "error"}, &out, &errOut); err != nil {
			t.Fatalf("migrate dates = %v: %s %s", err, out.String(), errOut.String())
		}
		return out.String()
	}
	if out := migrate(); !strings.Contains(out, "6 records hold a sensitive date; 6 were committed as hashes, 6 re-committed") {
		t.Errorf("first run: %q", out)
	}
	if out := migrate(); !strings.Contains(out, "0 were committed as hashes, 0 re-committed") {
		t.Errorf("second run: %q, want nothing to do", out)
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "verify", "--data-dir", h.dir, "--quiet"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "records match") {
		t.Fatalf("ledger verify after the migration = %v: %s", err, out.String())
	}

	h.open()
	all, _ := h.entries()
	migrated := 0
	for _, e := range all {
		if e.Role == hub.DateMigrationRole {
			migrated++
			if e.Department != "public-security" || len(e.Fields) != 1 || e.Fields[0].Name != "identity.birthDate" {
				t.Errorf("migration entry %+v", e)
			}
		}
	}
	if migrated != n {
		t.Errorf("%d migration entries, want %d", migrated, n)
	}

	r = h.query(h.token(policeClerk), adultQuery, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("adult after the migration: %+v", r.Errors)
	}
	bd := get(r.Data, "citizen", "identity", "birthDate")
	if s := get(bd, "commitment", "scheme"); s != commit.SchemeV2 {
		t.Errorf("scheme after the migration = %v, want %s", s, commit.SchemeV2)
	}
	if get(bd, "proof", "holds") != true {
		t.Fatalf("adult of %s (born %s) = %v", c.ID, c.Records["identity"][0]["birthDate"], get(bd, "proof"))
	}
	raw, _ := json.Marshal(map[string]any{"data": r.Data})
	if bytes.Contains(raw, []byte(c.Records["identity"][0]["birthDate"].(string))) {
		t.Errorf("the answer carries the birth date: %s", raw)
	}
	f := writeRaw(t, raw)
	out.Reset()
	today := time.Now().UTC().Format(time.DateOnly)
	if err := run(t.Context(), []string{"verify-proof", f, "--on", today}, &out, &errOut); err != nil || !strings.Contains(out.String(), "on "+today) {
		t.Errorf("verify-proof = %v: %q", err, out.String())
	}

	// The citizen's own opening names v2 and verifies under it.
	citizen := auth.Principal{Kind: auth.KindCitizen, Subject: c.ID}
	r = h.query(h.token(citizen), `{ myOpening(field: "identity.birthDate") { value blinding commitment { scheme point } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("myOpening: %+v", r.Errors)
	}
	o := get(r.Data, "myOpening")
	if get(o, "commitment", "scheme") != commit.SchemeV2 || get(o, "value") != c.Records["identity"][0]["birthDate"] {
		t.Fatalf("opening = %v", o)
	}
	checkOpening(t, o)
}

// checkOpening verifies a myOpening answer of a date under the scheme it names.
func checkOpening(t *testing.T, o any) {
	t.Helper()
	cm, err := commit.ParseCommitment(get(o, "commitment", "point").(string))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hex.DecodeString(get(o, "blinding").(string))
	rb, err := commit.ParseBlinding(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := commit.DateFor(get(o, "commitment", "scheme").(string), get(o, "value").(string))
	if err != nil {
		t.Fatal(err)
	}
	if err := commit.Verify(cm, m, rb); err != nil {
		t.Errorf("the opening does not verify under its scheme: %v", err)
	}
}

// `govhub migrate indexes` refuses a data directory a hub holds; on a new store it changes nothing;
// on a store whose record_heads kept two _id indexes (as a store an earlier version created does)
// it leaves one, names the collection, and the hub reads from it afterwards; a second run changes
// nothing.
func TestMigrateIndexesCommand(t *testing.T) {
	h := startHub(t, 3)
	migrate := func() (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"migrate", "indexes", "--data-dir", h.dir, "--quiet", "--log-level", "error"}, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := migrate(); !errors.Is(err, embedded.ErrLocked) {
		t.Errorf("migrate indexes beside the hub = %v (%s), want it refused: the directory is in use", err, out)
	}
	h.close()
	// A new store's collections have one index each (small ones are rebuilt at start).
	if out, err := migrate(); err != nil || !strings.Contains(out, " 0 of them changed") {
		t.Errorf("migrate indexes on a new store = %v:\n%s\nwant nothing changed", err, out)
	}

	file := filepath.Join(h.dir, "db", "sqlite", "govhub.sqlite")
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	var table string
	if err := db.QueryRow(`SELECT table_name FROM "_ferretdb_collections" WHERE name = 'record_heads'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{ // the indexes an earlier version left
		fmt.Sprintf(`DROP INDEX %q`, table+"__id_"),
		fmt.Sprintf(`CREATE UNIQUE INDEX %q ON %q (_ferretdb_sjson->"_id")`, table+"__id_", table),
		fmt.Sprintf(`CREATE INDEX %q ON %q (_ferretdb_sjson->'$._id')`, table+"_govhub_id", table),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	indexes := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := indexes(); n != 2 {
		t.Fatalf("record_heads has %d indexes before, want 2", n)
	}
	out, err := migrate()
	if err != nil || !regexp.MustCompile(`(?m)^record_heads: \d+ documents, one _id index \(rebuilt in `).MatchString(out) ||
		!regexp.MustCompile(`(?m)^indexes: \d+ collections, 1 of them changed to one _id index`).MatchString(out) {
		t.Errorf("migrate indexes = %v:\n%s\nwant record_heads changed, and it alone", err, out)
	}
	if n := indexes(); n != 1 {
		t.Errorf("record_heads has %d indexes after, want 1", n)
	}
	if out, err := migrate(); err != nil || !strings.Contains(out, " 0 of them changed") {
		t.Errorf("second run = %v:\n%s\nwant nothing changed", err, out)
	}
	db.Close()

	h.open()
	r := h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	for _, e := range r.Errors {
		if e.Extensions["code"] != "FORBIDDEN" {
			t.Errorf("a read after the migration: %+v", e)
		}
	}
	if get(r.Data, "citizen", "identity", "name") == nil {
		t.Errorf("a read after the migration = %v, want the citizen's name", r.Data)
	}
}

// `govhub migrate pack` packs the citizens' documents an earlier version wrote (here: this
// store's, unpacked as format 3 held them), the hub reads them the same afterwards, and a second
// run packs nothing.
func TestMigratePackCommand(t *testing.T) {
	h := startHub(t, 4)
	c := h.findCitizen(4, "identity", "tax").ID
	before := mustJSON(t, h.checkServed(identityTaxQuery, c).Data)
	h.close()
	st, err := openStorage(t.Context(), h.config())
	if err != nil {
		t.Fatal(err)
	}
	db := st.client.Database("govhub")
	if err := storetest.UnpackCitizens(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	unpacked, err := db.Collection("record_heads").CountDocuments(t.Context(), bson.D{{Key: "p", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil || unpacked < 4 {
		t.Fatalf("%d documents unpacked, %v; want the 4 citizens' at least", unpacked, err)
	}
	st.close(t.Context())

	migrate := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"migrate", "pack", "--data-dir", h.dir, "--quiet", "--log-level", "error"}, &out, &errOut); err != nil {
			t.Fatalf("migrate pack = %v: %s%s", err, out.String(), errOut.String())
		}
		return out.String()
	}
	if out := migrate(); !strings.Contains(out, fmt.Sprintf("pack: %d citizens' documents packed", unpacked)) {
		t.Errorf("migrate pack = %q, want %d packed", out, unpacked)
	}
	if out := migrate(); !strings.Contains(out, "pack: 0 citizens' documents packed") {
		t.Errorf("second run = %q, want none packed", out)
	}
	st, err = openStorage(t.Context(), h.config())
	if err != nil {
		t.Fatal(err)
	}
	left, err := st.client.Database("govhub").Collection("record_heads").CountDocuments(t.Context(), bson.D{{Key: "p", Value: bson.D{{Key: "$exists", Value: false}}}})
	st.close(t.Context())
	if err != nil || left != 0 {
		t.Errorf("%d documents left unpacked, %v; want none", left, err)
	}

	h.open()
	if got := mustJSON(t, h.checkServed(identityTaxQuery, c).Data); !bytes.Equal(got, before) {
		t.Errorf("a read after the migration = %s, want %s", got, before)
	}
}
