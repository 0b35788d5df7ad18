package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchDoc is a batch document in the form written before compression.
type batchDoc struct {
	ID     string   `bson:"_id"`
	First  int64    `bson:"first"`
	Leaves [][]byte `bson:"leaves"`
}

// openBatches opens the stopped hub's store and reads its ledger batches, in order. The caller
// closes the store.
func openBatches(t *testing.T, h *testHub) (*storage, *mongo.Collection, []batchDoc) {
	t.Helper()
	st, err := openStorage(t.Context(), h.config())
	if err != nil {
		t.Fatal(err)
	}
	coll := st.client.Database("govhub").Collection("ledger_batches")
	cur, err := coll.Find(t.Context(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		st.close(t.Context())
		t.Fatal(err)
	}
	var bs []batchDoc
	if err := cur.All(t.Context(), &bs); err != nil {
		st.close(t.Context())
		t.Fatal(err)
	}
	// The entries are stored compressed: read them through the store. A tampered batch is written
	// back as {_id, first, leaves}, the form batches had before compression, which a reader takes
	// as it is.
	for i := range bs {
		b, err := st.ledgerStore.ReadBatch(t.Context(), uint64(bs[i].First))
		if err != nil {
			st.close(t.Context())
			t.Fatal(err)
		}
		bs[i].Leaves = b.Leaves
	}
	return st, coll, bs
}

// runVerify runs `govhub ledger verify` on the hub's data directory.
func runVerify(t *testing.T, dir string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"ledger", "verify", "--data-dir", dir}, &out, &errOut)
	return out.String(), err
}

// Altering, deleting or reordering one stored entry makes `govhub ledger verify` fail naming the
// index; an untouched store verifies.
func TestLedgerVerifyCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(bs []batchDoc) (changed []batchDoc, deleted string, want int64)
	}{
		{"untouched", func(bs []batchDoc) ([]batchDoc, string, int64) { return nil, "", -1 }},
		{"altered", func(bs []batchDoc) ([]batchDoc, string, int64) {
			b := bs[len(bs)/2]
			b.Leaves[0] = bytes.Replace(b.Leaves[0], []byte("outcome allowed"), []byte("outcome denied"), 1)
			return []batchDoc{b}, "", b.First
		}},
		{"deleted", func(bs []batchDoc) ([]batchDoc, string, int64) {
			b := bs[len(bs)/2]
			return nil, b.ID, b.First
		}},
		{"reordered", func(bs []batchDoc) ([]batchDoc, string, int64) {
			for _, b := range bs {
				if len(b.Leaves) >= 2 && !bytes.Equal(b.Leaves[0], b.Leaves[1]) {
					b.Leaves[0], b.Leaves[1] = b.Leaves[1], b.Leaves[0]
					return []batchDoc{b}, "", b.First
				}
			}
			panic("no batch of two entries")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHub(t, 8)
			h.close()
			st, coll, bs := openBatches(t, h)
			changed, deleted, want := tc.tamper(bs)
			for _, b := range changed {
				if _, err := coll.ReplaceOne(t.Context(), bson.D{{Key: "_id", Value: b.ID}}, b); err != nil {
					t.Fatal(err)
				}
			}
			if deleted != "" {
				if _, err := coll.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: deleted}}); err != nil {
					t.Fatal(err)
				}
			}
			st.close(t.Context())

			out, err := runVerify(t, h.dir)
			if want < 0 {
				if err != nil || !strings.HasPrefix(out, "OK:") {
					t.Fatalf("verify(untouched) = %q, %v; want OK", out, err)
				}
				return
			}
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 1 {
				t.Fatalf("verify(%s) = %q, %v; want exit status 1", tc.name, out, err)
			}
			if !strings.Contains(out, "ledger entry "+itoa(want)+":") {
				t.Errorf("verify(%s) says %q, want it to name entry %d", tc.name, out, want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A record changed behind the ledger's back (here: a plain value edited in the database) no longer
// matches the update entry that wrote it, and `govhub ledger verify` says which.
func TestVerifyFindsRecordChangedBehindTheLedger(t *testing.T) {
	h := startHub(t, 6)
	c := h.findCitizen(6, "tax")
	h.close()
	st, err := openStorage(t.Context(), h.config())
	if err != nil {
		t.Fatal(err)
	}
	// The citizen's records are in their document of record_heads, each as the BSON bytes of a
	// binary field (store/mongostore/heads.go).
	if err := storetest.UnpackCitizens(t.Context(), st.client.Database("govhub"), c.ID); err != nil {
		t.Fatal(err)
	}
	docs := st.client.Database("govhub").Collection("record_heads")
	raw, err := docs.FindOne(t.Context(), bson.D{{Key: "_id", Value: c.ID}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var rec bson.D
	_, data := raw.Lookup("records", "tax").Binary()
	if err := bson.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	field := func(d bson.D, key string) *bson.E {
		for i := range d {
			if d[i].Key == key {
				return &d[i]
			}
		}
		t.Fatalf("no %s in the stored record", key)
		return nil
	}
	plain := field(field(rec, "items").Value.(bson.A)[0].(bson.D), "plain").Value.(bson.D)
	field(plain, "year").Value = int64(1999)
	b, err := bson.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := docs.UpdateOne(t.Context(),
		bson.D{{Key: "_id", Value: c.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "records.tax", Value: bson.Binary{Data: b}}}}})
	if err != nil || res.MatchedCount != 1 {
		t.Fatalf("editing the record: %v %+v", err, res)
	}
	st.close(t.Context())
	out, err := runVerify(t, h.dir)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("verify = %q, %v; want exit status 1", out, err)
	}
	if !strings.Contains(out, "FAIL: tax record of "+c.ID) || !strings.Contains(out, "digest differs") {
		t.Errorf("verify says %q, want the tax record of %s named", out, c.ID)
	}
}

// The start-up check: an altered recent entry stops the hub from starting; an altered old one (past
// the tail checked before serving) is found by the background verification, after which every
// request fails closed and /readyz says why.
func TestStartupCheck(t *testing.T) {
	alter := func(t *testing.T, h *testHub, pick func(bs []batchDoc) batchDoc) {
		st, coll, bs := openBatches(t, h)
		defer st.close(t.Context())
		b := pick(bs)
		b.Leaves[0] = bytes.Replace(b.Leaves[0], []byte("outcome allowed"), []byte("outcome denied"), 1)
		if _, err := coll.ReplaceOne(t.Context(), bson.D{{Key: "_id", Value: b.ID}}, b); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("recent entry", func(t *testing.T) {
		h := startHub(t, 8)
		h.close()
		alter(t, h, func(bs []batchDoc) batchDoc { return bs[len(bs)-1] })
		_, err := openApp(t.Context(), h.config())
		var ce *ledger.CorruptionError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "refusing to serve") {
			t.Fatalf("openApp(altered recent entry) = %v, want a refusal naming the entry", err)
		}
	})

	t.Run("old entry", func(t *testing.T) {
		h := startHub(t, 8)
		c := h.findCitizen(8, "identity")
		for range 6 { // recent entries, each under a checkpoint of its own
			res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
			h.waitPublished(uint64(res.Extensions["ledger"].(map[string]any)["index"].(float64)) + 1)
		}
		h.close()
		alter(t, h, func(bs []batchDoc) batchDoc { return bs[1] })
		cfg := h.config()
		cfg.VerifyTail = 4
		a, err := openApp(t.Context(), cfg)
		if err != nil {
			t.Fatalf("openApp with an old entry altered (outside the tail) = %v", err)
		}
		h.app, h.handler = a, a.handler()
		deadline := time.Now().Add(20 * time.Second)
		for a.log.Failed() == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if a.log.Failed() == nil {
			t.Fatal("the background verification did not find the altered entry")
		}
		res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
		if get(res.Data, "citizen") != nil || res.errorAt("citizen") == nil || res.errorAt("citizen").Extensions["code"] != "UNAVAILABLE" {
			t.Errorf("a read after the ledger failed verification = %v %+v, want UNAVAILABLE and no data", res.Data, res.Errors)
		}
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d, want 503", w.Code)
		}
	})
}

// Beside a running hub that keeps writing, `govhub ledger verify` reads its database read-only
// (no second ledger) and passes; records written after the checkpoint it read are counted, not
// reported as problems.
func TestLedgerVerifyBesideHub(t *testing.T) {
	h := startHub(t, 6)
	stop := make(chan struct{})
	done := make(chan struct{})
	var updated atomic.Int64
	tok := h.token(taxClerk)
	update := func(i int) {
		r := h.query(tok, `mutation($id: ID!, $v: Int64!) { updateTax(citizenId: $id, purpose: "tax-administration", input: {annualIncome: $v}) { version } }`,
			map[string]any{"id": h.gen.Citizen(1 + i%6).ID, "v": 100000 + i})
		if len(r.Errors) > 0 {
			t.Errorf("update beside the verification: %+v", r.Errors)
			return
		}
		updated.Add(1)
	}
	update(0)   // at least one update is made while the hub runs, whatever the timing
	go func() { // a tax clerk keeps updating while the verification runs
		defer close(done)
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			update(i)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	out, err := runVerify(t, h.dir)
	close(stop)
	<-done
	if updated.Load() < 2 {
		t.Logf("only %d updates ran beside the verification", updated.Load())
	}
	if err != nil || !strings.Contains(out, "records match the update entries") {
		t.Fatalf("ledger verify beside the hub = %v:\n%s", err, out)
	}
	if h.app == nil || h.app.log.Failed() != nil {
		t.Errorf("the hub's ledger failed while verified beside it")
	}
}
