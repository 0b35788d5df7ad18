package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

// Record integrity at read (ARCHITECTURE §1.8): records changed behind the hub's back, through the
// database itself, are refused with INTEGRITY, the refusal is on the ledger, and the operator is
// alerted (the counter /readyz reports).

// storedRecord mirrors a stored record document, as an attacker with the database sees it.
type storedRecord struct {
	ID      string `bson:"_id"`
	Citizen string `bson:"citizen"`
	Dataset string `bson:"dataset"`
	Version int64  `bson:"version"`
	Salt    []byte `bson:"salt"`
	Items   []struct {
		Plain  bson.M `bson:"plain,omitempty"`
		Sealed map[string]struct {
			Ciphertext []byte `bson:"ct"`
			Commitment []byte `bson:"c"`
			Version    int64  `bson:"v"`
		} `bson:"sealed,omitempty"`
	} `bson:"items"`
	Updated time.Time `bson:"updated"`
	MAC     []byte    `bson:"mac,omitempty"`
}

const identityTaxQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") {
  identity { name hukouCity } tax { annualIncome { commitment { version } } } } }`

const identityQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name hukouCity } } }`

func (h *testHub) collection(name string) *mongo.Collection {
	return h.app.storage.client.Database("govhub").Collection(name)
}

// A citizen's record head and records are fields of their document in record_heads
// (store/mongostore/heads.go): a record "<citizen>/<dataset>" of the helpers below is the BSON
// document in the binary field records.<dataset> of the citizen's document, and a head "<citizen>"
// of record_heads is its fields head, versions and mac.

// headFields are the fields of a citizen's document that make their record head.
var headFields = []string{"head", "versions", "mac"}

// loadDoc reads a stored record by its id "<citizen>/<dataset>", straight from the database.
func (h *testHub) loadDoc(id string) storedRecord {
	h.t.Helper()
	var d storedRecord
	if err := bson.Unmarshal(h.rawDoc("records", id), &d); err != nil {
		h.t.Fatalf("reading record %s: %v", id, err)
	}
	return d
}

// writeDoc replaces the stored record or record head id by doc, behind the hub's back.
func (h *testHub) writeDoc(coll, id string, doc any) {
	h.t.Helper()
	citizen, ds, _ := strings.Cut(id, "/")
	h.unpack(citizen)
	var set bson.D
	switch coll {
	case "records":
		raw, err := bson.Marshal(doc)
		if err != nil {
			h.t.Fatal(err)
		}
		set = bson.D{{Key: "records." + ds, Value: bson.Binary{Data: raw}}}
	case "record_heads":
		raw, err := bson.Marshal(doc)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, f := range headFields {
			set = append(set, bson.E{Key: f, Value: bson.Raw(raw).Lookup(f)})
		}
	default:
		h.t.Fatalf("writeDoc(%s)", coll)
	}
	res, err := h.collection("record_heads").UpdateOne(h.t.Context(), bson.D{{Key: "_id", Value: citizen}}, bson.D{{Key: "$set", Value: set}})
	if err != nil || res.MatchedCount != 1 {
		h.t.Fatalf("replacing %s %s = %v, %v", coll, id, res, err)
	}
}

// unpack rewrites the citizen's document with its fields at its top level, as a store before
// format 4 held it (which a store reads too), so that the helpers here read and edit them.
func (h *testHub) unpack(citizen string) {
	h.t.Helper()
	if err := storetest.UnpackCitizens(h.t.Context(), h.collection("record_heads").Database(), citizen); err != nil {
		h.t.Fatal(err)
	}
}

// rawDoc reads the stored record or record head id.
func (h *testHub) rawDoc(coll, id string) bson.Raw {
	h.t.Helper()
	citizen, ds, _ := strings.Cut(id, "/")
	h.unpack(citizen)
	raw, err := h.collection("record_heads").FindOne(h.t.Context(), bson.D{{Key: "_id", Value: citizen}}).Raw()
	if err != nil {
		h.t.Fatalf("reading %s %s: %v", coll, id, err)
	}
	switch coll {
	case "records":
		_, doc, ok := raw.Lookup("records", ds).BinaryOK()
		if !ok {
			h.t.Fatalf("reading %s %s: no such record", coll, id)
		}
		return doc
	case "record_heads":
		head := bson.D{}
		for _, f := range headFields {
			head = append(head, bson.E{Key: f, Value: raw.Lookup(f)})
		}
		out, err := bson.Marshal(head)
		if err != nil {
			h.t.Fatal(err)
		}
		return out
	}
	h.t.Fatalf("rawDoc(%s)", coll)
	return nil
}

// deleteDoc deletes the stored record or record head id, behind the hub's back.
func (h *testHub) deleteDoc(coll, id string) {
	h.t.Helper()
	citizen, ds, _ := strings.Cut(id, "/")
	h.unpack(citizen)
	unset := bson.D{}
	switch coll {
	case "records":
		unset = append(unset, bson.E{Key: "records." + ds, Value: ""}, bson.E{Key: "rv." + ds, Value: ""})
	case "record_heads":
		for _, f := range headFields {
			unset = append(unset, bson.E{Key: f, Value: ""})
		}
	}
	res, err := h.collection("record_heads").UpdateOne(h.t.Context(), bson.D{{Key: "_id", Value: citizen}}, bson.D{{Key: "$unset", Value: unset}})
	if err != nil || res.ModifiedCount != 1 {
		h.t.Fatalf("deleting %s %s = %v, %v", coll, id, res, err)
	}
}

// citizensWith returns the ids of demo citizens 1…n that have records in every dataset given.
func (h *testHub) citizensWith(n int, datasets ...string) []string {
	var out []string
	for i := 1; i <= n; i++ {
		c := h.gen.Citizen(i)
		ok := true
		for _, ds := range datasets {
			ok = ok && len(c.Records[ds]) > 0
		}
		if ok {
			out = append(out, c.ID)
		}
	}
	return out
}

// readyz returns /readyz's status and body.
func (h *testHub) readyz() (int, string) {
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// checkRefused checks that reading citizen id with q is refused with INTEGRITY, releases nothing
// (not even the unchanged datasets), is on the ledger as a denied access with reason integrity,
// and raises the alert count by one; forbidden strings must not be in the response.
func (h *testHub) checkRefused(q, id string, forbidden ...string) {
	h.t.Helper()
	before := h.app.integrity.Alerts()
	res := h.query(h.token(housingClerk), q, map[string]any{"id": id})
	if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != "INTEGRITY" {
		h.t.Fatalf("reading %s after the change = %+v, want an INTEGRITY error", id, res.Errors)
	}
	if c := get(res.Data, "citizen"); c != nil {
		h.t.Errorf("reading %s released %v", id, c)
	}
	raw, _ := json.Marshal(res.Data)
	for _, f := range forbidden {
		if f != "" && bytes.Contains(raw, []byte(f)) {
			h.t.Errorf("the response carries %q: %s", f, raw)
		}
	}
	if got := h.app.integrity.Alerts(); got != before+1 {
		h.t.Errorf("alerts = %d, want %d", got, before+1)
	}
	if err := h.app.log.WaitCaughtUp(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
	entries, _ := h.entries()
	last := entries[len(entries)-1]
	if last.Kind != ledger.KindAccess || last.Outcome != ledger.OutcomeDenied || last.Reason != "integrity" || len(last.Subjects) != 1 {
		h.t.Errorf("last ledger entry = %s %s %q, want the refused access (denied, integrity)", last.Kind, last.Outcome, last.Reason)
	}
	for _, f := range last.Fields {
		if f.Level != "deny" {
			h.t.Errorf("refusal entry field %s at %s, want deny", f.Name, f.Level)
		}
	}
	code, body := h.readyz()
	if code != 503 || !strings.Contains(body, "record integrity alerts: ") {
		h.t.Errorf("/readyz = %d %q, want 503 naming the record integrity alerts", code, body)
	}
}

// checkServed checks that reading citizen id with q succeeds.
func (h *testHub) checkServed(q, id string) result {
	h.t.Helper()
	res := h.query(h.token(housingClerk), q, map[string]any{"id": id})
	if len(res.Errors) > 0 || get(res.Data, "citizen") == nil {
		h.t.Fatalf("reading %s = %+v, want it served", id, res.Errors)
	}
	return res
}

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)/2] ^= 1
	return out
}

// (a) Content changed in the database: a plain value, the version, the salt, a sealed commitment,
// a ciphertext, or the MAC itself.
func TestIntegrityContentChanged(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity", "tax")
	if len(ids) < 6 {
		t.Fatalf("only %d demo citizens with identity and tax records", len(ids))
	}
	if code, body := h.readyz(); code != 200 {
		t.Fatalf("/readyz before = %d %q", code, body)
	}
	changes := []struct {
		name    string
		dataset string
		change  func(d *storedRecord) string // returns a string the response must not carry
	}{
		{"plain hukouCity", "identity", func(d *storedRecord) string {
			city := d.Items[0].Plain["hukouCity"].(string)
			b := []byte(city)
			b[len(b)-1] ^= 1 // one byte, as in the report
			d.Items[0].Plain["hukouCity"] = string(b)
			return string(b)
		}},
		{"version", "identity", func(d *storedRecord) string { d.Version--; return "" }},
		{"salt", "identity", func(d *storedRecord) string { d.Salt = flip(d.Salt); return "" }},
		{"sealed commitment", "tax", func(d *storedRecord) string {
			sf := d.Items[0].Sealed["annualIncome"]
			sf.Commitment = flip(sf.Commitment)
			d.Items[0].Sealed["annualIncome"] = sf
			return ""
		}},
		{"sealed version", "tax", func(d *storedRecord) string {
			sf := d.Items[0].Sealed["annualIncome"]
			sf.Version++
			d.Items[0].Sealed["annualIncome"] = sf
			return ""
		}},
		{"mac", "identity", func(d *storedRecord) string { d.MAC = flip(d.MAC); return "" }},
	}
	for i, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			parent := h.t
			h.t = t
			defer func() { h.t = parent }()
			id := ids[i]
			h.checkServed(identityTaxQuery, id)
			doc := h.loadDoc(id + "/" + tc.dataset)
			forbidden := tc.change(&doc)
			h.writeDoc("records", doc.ID, doc)
			h.checkRefused(identityTaxQuery, id, forbidden)
			// An update built on the changed record is refused too: the change is never blessed.
			if tc.dataset == "tax" {
				res := h.query(h.token(taxClerk), updateTax, map[string]any{"id": id, "income": 123456})
				if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != "INTEGRITY" {
					t.Errorf("updateTax over the changed record = %+v, want INTEGRITY", res.Errors)
				}
			}
		})
	}
	// The other citizens are still served.
	h.checkServed(identityTaxQuery, ids[len(ids)-1])
}

// (b) Two citizens' records swapped: whole documents exchanged, the citizen field edited to match;
// and the same with their record heads swapped as well.
func TestIntegritySwappedRecords(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity", "tax")
	swap := func(coll, a, b string, fix func(doc bson.Raw, id string) bson.D) {
		da, db := h.rawDoc(coll, a), h.rawDoc(coll, b)
		h.writeDoc(coll, a, fix(db, a))
		h.writeDoc(coll, b, fix(da, b))
	}
	recordAs := func(doc bson.Raw, id string) bson.D {
		var d bson.D
		if err := bson.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		citizen, _, _ := strings.Cut(id, "/")
		for i := range d {
			switch d[i].Key {
			case "_id":
				d[i].Value = id
			case "citizen":
				d[i].Value = citizen
			}
		}
		return d
	}
	x, y := ids[0], ids[1]
	h.checkServed(identityQuery, x)
	h.checkServed(identityQuery, y)
	swap("records", x+"/identity", y+"/identity", recordAs)
	h.checkRefused(identityQuery, x)
	h.checkRefused(identityQuery, y)

	// Records and heads swapped together: each head's MAC names its citizen.
	u, v := ids[2], ids[3]
	swap("records", u+"/identity", v+"/identity", recordAs)
	swap("records", u+"/tax", v+"/tax", recordAs)
	swap("record_heads", u, v, recordAs)
	h.checkRefused(identityQuery, u)
	h.checkRefused(identityTaxQuery, v)
}

// (c) A record rolled back to an older version the hub validly wrote: saved, updated through the
// hub, the saved document written back; and the same with the record head rolled back as well.
func TestIntegrityRollback(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity", "tax")
	tax := h.token(taxClerk)
	update := func(id string) {
		res := h.query(tax, updateTax, map[string]any{"id": id, "income": 777777})
		if len(res.Errors) > 0 {
			t.Fatalf("updateTax(%s) = %+v", id, res.Errors)
		}
	}

	t.Run("record only", func(t *testing.T) {
		h.t = t
		id := ids[0]
		saved := h.rawDoc("records", id+"/tax")
		update(id)
		h.checkServed(identityTaxQuery, id)
		h.writeDoc("records", id+"/tax", saved)
		h.checkRefused(identityTaxQuery, id)
		res := h.query(tax, updateTax, map[string]any{"id": id, "income": 888888})
		if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != "INTEGRITY" {
			t.Errorf("updateTax over the rolled-back record = %+v, want INTEGRITY", res.Errors)
		}
	})
	t.Run("record and head", func(t *testing.T) {
		h.t = t
		id := ids[1]
		savedRec, savedHead := h.rawDoc("records", id+"/tax"), h.rawDoc("record_heads", id)
		update(id)
		h.writeDoc("records", id+"/tax", savedRec)
		h.writeDoc("record_heads", id, savedHead)
		h.checkRefused(identityTaxQuery, id)
		// Even a read of another dataset: the whole head is stale.
		h.checkRefused(identityQuery, id)
	})
	t.Run("head only, after a restart", func(t *testing.T) {
		// The superseded heads are rebuilt from the ledger (and the snapshot) at start-up.
		h.t = t
		id := ids[2]
		savedHead := h.rawDoc("record_heads", id)
		update(id)
		h.close()
		h.open()
		h.writeDoc("record_heads", id, savedHead)
		h.checkRefused(identityQuery, id)
	})
}

// (d) A record deleted must not pass as "no record"; nor a record head.
func TestIntegrityDeleted(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity", "tax")
	del := h.deleteDoc
	id := ids[0]
	del("records", id+"/tax")
	h.checkRefused(identityTaxQuery, id)
	// The datasets still intact are read as before.
	h.checkServed(identityQuery, id)

	id = ids[1]
	del("records", id+"/tax")
	del("record_heads", id)
	h.checkRefused(identityQuery, id)
}

// One byte of a citizen's hukouCity flipped in the raw SQLite file, with the hub stopped: the hub
// starts, and refuses that citizen's identity (and serves the others).
func TestIntegrityRawFileByteFlip(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity")
	victim, other := ids[3], ids[4]
	city := get(h.checkServed(identityQuery, victim).Data, "citizen", "identity", "hukouCity").(string)
	// The record is stored as BSON bytes in a binary field of the citizen's document, which
	// FerretDB keeps in the file as base64 (store/mongostore/heads.go).
	blob := h.rawDoc("records", victim+"/identity")
	h.close()

	dir := filepath.Join(h.dir, "db", "sqlite")
	path := filepath.Join(dir, "govhub.sqlite")
	if _, err := os.Stat(path + "-wal"); err == nil {
		if fi, _ := os.Stat(path + "-wal"); fi.Size() > 0 {
			t.Fatalf("%s-wal holds %d bytes after shutdown: the record may not be in the main file", path, fi.Size())
		}
	}
	// Stale copies of rewritten pages stay in the file's free pages: compact it first (content
	// unchanged), so that the one copy left is the live record.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("VACUUM"); err != nil {
		t.Fatalf("VACUUM: %v", err)
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The record's base64 in the file. A 3-byte group of the blob wholly inside the hukouCity value
	// is 4 base64 characters; the last of them carries the low 6 bits of the group's last byte, so
	// changing it changes that byte of the value and nothing else. The file holds two identical
	// copies (FerretDB's table row and one the hub's reads do not use): the same character is
	// changed in each, so whichever is read is changed.
	at := bytes.Index(blob, []byte(city))
	if at < 0 {
		t.Fatalf("the hukouCity of %s is not in its record", victim)
	}
	g := (at + 2) / 3
	if 3*g+3 > at+len(city) {
		t.Fatalf("no whole base64 group inside the hukouCity %q of %s", city, victim)
	}
	b64 := base64.StdEncoding.EncodeToString(blob)
	pos := 4*g + 3
	lo, hi := max(pos-48, 0), min(pos+48, len(b64))
	window := []byte(b64[lo:hi])
	copies := 0
	for off := 0; ; {
		k := bytes.Index(data[off:], window)
		if k < 0 {
			break
		}
		c := &data[off+k+pos-lo]
		if *c == 'A' {
			*c = 'B'
		} else {
			*c = 'A'
		}
		copies++
		off += k + 1
	}
	if copies == 0 {
		t.Fatalf("the record %s/identity is not in %s", victim, path)
	}
	t.Logf("changed one base64 character of hukouCity in %d copies of the record", copies)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	h.open()
	h.checkRefused(identityQuery, victim)
	h.checkServed(identityQuery, other)
}

// A store written before record integrity (records without MACs, no heads, no marker) is refused
// at start-up, naming the migration; the marker alone deleted is refused the same way.
func TestIntegrityLegacyStoreRefused(t *testing.T) {
	h := startHub(t, 3)
	ctx := t.Context()
	if _, err := h.collection("meta").DeleteOne(ctx, bson.D{{Key: "_id", Value: integrityMarker}}); err != nil {
		t.Fatal(err)
	}
	h.close()
	_, err := openApp(ctx, h.config())
	if err == nil || !strings.Contains(err.Error(), "--migrate-record-integrity") {
		t.Fatalf("openApp on a store without the record integrity marker = %v, want a refusal naming --migrate-record-integrity", err)
	}
}

// Every path that reads records checks them: a list page holding the citizen, the citizen's own
// records and openings, and an update built on the record.
func TestIntegrityOtherReadPaths(t *testing.T) {
	const n = 5
	h := startHub(t, n)
	id := h.citizensWith(n, "identity")[0]
	doc := h.loadDoc(id + "/identity")
	city := []byte(doc.Items[0].Plain["hukouCity"].(string))
	city[len(city)-1] ^= 1
	doc.Items[0].Plain["hukouCity"] = string(city)
	h.writeDoc("records", doc.ID, doc)

	police, mine := h.token(policeClerk), h.token(citizenP(id))
	for _, tc := range []struct {
		name, token, query string
	}{
		{"list page", police, `{ citizens(purpose: "identity-verification", first: 10) { edges { node { id identity { hukouCity } } } } }`},
		{"own records", mine, `{ myRecords { identity { hukouCity } } }`},
		{"own opening", mine, `{ myOpening(field: "identity.nationalId") { value } }`},
		{"update", police, `mutation($id: ID!) { updateIdentity(citizenId: $id, purpose: "identity-verification", input: {name: "王五"}) { version } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.app.integrity.Alerts()
			res := h.query(tc.token, tc.query, map[string]any{"id": id})
			if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != "INTEGRITY" {
				t.Fatalf("%s = %+v, want INTEGRITY", tc.name, res.Errors)
			}
			raw, _ := json.Marshal(res.Data)
			if bytes.Contains(raw, city) {
				t.Errorf("the response carries the changed value: %s", raw)
			}
			if h.app.integrity.Alerts() != before+1 {
				t.Errorf("alerts %d, want %d", h.app.integrity.Alerts(), before+1)
			}
		})
	}
}

// With the record cache on, a record changed in the database behind the hub's back is never
// served: a read of a cached citizen gets the copy that was checked, an update over the changed
// record is refused (updates always read and check), and once the citizen's cache entry expires
// the read is refused and reported like any integrity alert.
func TestIntegrityWithRecordCache(t *testing.T) {
	const n = 12
	dir := t.TempDir()
	h := &testHub{t: t, dir: dir, gen: demo.NewGenerator(testSeed), recordCache: 100}
	cfg := h.config()
	cfg.RecordCacheTTL = 300 * time.Millisecond
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), a, n, testSeed); err != nil {
		t.Fatal(err)
	}
	id := h.citizensWith(n, "identity", "tax")[0]
	before := h.checkServed(identityTaxQuery, id)
	city := get(before.Data, "citizen", "identity", "hukouCity").(string)
	hits := a.integrity.CacheHits()
	doc := h.loadDoc(id + "/identity")
	b := []byte(doc.Items[0].Plain["hukouCity"].(string))
	b[len(b)-1] ^= 1
	doc.Items[0].Plain["hukouCity"] = string(b)
	h.writeDoc("records", doc.ID, doc)

	res := h.checkServed(identityTaxQuery, id)
	if got := get(res.Data, "citizen", "identity", "hukouCity"); got != city {
		t.Fatalf("a cached citizen read after the change = %q, want the checked %q", got, city)
	}
	if a.integrity.CacheHits() == hits {
		t.Fatalf("the read after the change did not come from the record cache")
	}
	if bytes.Contains(mustJSON(t, res.Data), b) {
		t.Fatalf("the changed value was served: %v", res.Data)
	}
	tax := h.loadDoc(id + "/tax")
	sf := tax.Items[0].Sealed["annualIncome"]
	sf.Commitment = flip(sf.Commitment)
	tax.Items[0].Sealed["annualIncome"] = sf
	h.writeDoc("records", tax.ID, tax)
	up := h.query(h.token(taxClerk), updateTax, map[string]any{"id": id, "income": 123456})
	if len(up.Errors) == 0 || up.Errors[0].Extensions["code"] != "INTEGRITY" {
		t.Errorf("updateTax over the changed record with the cache on = %+v, want INTEGRITY", up.Errors)
	}
	// Read on and on: hits must not extend the entry's life, so within the TTL of the read that
	// filled it the citizen is read from the store again, and refused.
	deadline := time.Now().Add(3 * cfg.RecordCacheTTL)
	for {
		r := h.query(h.token(housingClerk), identityTaxQuery, map[string]any{"id": id})
		if len(r.Errors) > 0 {
			break
		}
		if got := get(r.Data, "citizen", "identity", "hukouCity"); got != city {
			t.Fatalf("a cached read served %q, want the checked %q", got, city)
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads of a cached citizen kept being served %s after the change (TTL %s): hits extend the cache entry", 3*cfg.RecordCacheTTL, cfg.RecordCacheTTL)
		}
		time.Sleep(cfg.RecordCacheTTL / 6)
	}
	h.checkRefused(identityTaxQuery, id, string(b))
}
