package mongostore

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/embedded"
)

// The packed form of a batch's entries, as specified in compress.go: each entry's length as a
// uvarint, then its bytes.
func TestPackLeavesVectors(t *testing.T) {
	for _, tc := range []struct {
		leaves [][]byte
		packed string // hex
	}{
		{nil, ""},
		{[][]byte{[]byte("a"), {}, []byte("bc")}, "0161" + "00" + "026263"},
		{[][]byte{bytes.Repeat([]byte{0xee}, 300)}, "ac02" + hex.EncodeToString(bytes.Repeat([]byte{0xee}, 300))},
	} {
		got := packLeaves(tc.leaves)
		if hex.EncodeToString(got) != tc.packed {
			t.Errorf("packLeaves(%q) = %x, want %s", tc.leaves, got, tc.packed)
		}
		back, err := unpackLeaves(got)
		if err != nil || !slices.EqualFunc(back, tc.leaves, bytes.Equal) {
			t.Errorf("unpackLeaves(%x) = %q, %v; want %q", got, back, err, tc.leaves)
		}
	}
	for _, bad := range []string{"02ff", "ac", "0161" + "05"} {
		raw, _ := hex.DecodeString(bad)
		if got, err := unpackLeaves(raw); err == nil {
			t.Errorf("unpackLeaves(%s) = %q, want an error", bad, got)
		}
	}
}

// Batches and bundles are stored compressed (field z) and read back as written; documents in the
// form written before compression (leaves, data) are read as they are; a damaged frame is an
// error, never other entries.
func TestLedgerEntriesStoredCompressed(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	leaves := make([][]byte, 40)
	var bundle []byte
	var err error
	for i := range leaves {
		e := ledger.Entry{Kind: ledger.KindAccess, Time: time.Date(2026, 12, 7, 7, 0, i, 0, time.UTC), Department: "housing", Role: "clerk", Purpose: "home-purchase-eligibility",
			Policy: 1, Request: bytes.Repeat([]byte{byte(i)}, 32), Outcome: ledger.OutcomeAllowed, Subjects: [][]byte{bytes.Repeat([]byte{byte(i + 1)}, 32)}}
		leaves[i], err = ledger.FormatEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		bundle = ledger.AppendBundleEntry(bundle, leaves[i])
	}

	if err := s.AddBatch(ctx, ledger.Batch{First: 100, Leaves: leaves}); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := s.db.Collection(collBatches).FindOne(ctx, bson.D{{Key: "_id", Value: pad(100)}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	z, ok := raw["z"].(bson.Binary)
	if _, has := raw["leaves"]; has || !ok || len(z.Data) >= len(packLeaves(leaves))/2 {
		t.Errorf("stored batch %v: want z, less than half the %d bytes of its entries, and no leaves", keysOf(raw), len(packLeaves(leaves)))
	}
	got, err := s.ReadBatch(ctx, 100)
	if err != nil || got.First != 100 || !slices.EqualFunc(got.Leaves, leaves, bytes.Equal) {
		t.Errorf("ReadBatch(100) = %d entries from %d, %v; want the 40 written", len(got.Leaves), got.First, err)
	}

	full := bytes.Repeat(ledger.AppendBundleEntry(nil, leaves[0]), 256)
	if err := s.WriteBundles(ctx, []ledger.BundleData{{N: 3, Count: 256, Data: full}, {N: 4, Count: 40, Data: bundle}}); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint64][]byte{3: full, 4: bundle} {
		var raw bson.M
		if err := s.db.Collection(collBundles).FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprint(n)}}).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		if _, has := raw["data"]; has || raw["z"] == nil {
			t.Errorf("stored bundle %d %v: want z and no data", n, keysOf(raw))
		}
		if got, err := s.ReadBundle(ctx, n); err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadBundle(%d) = %d bytes, %v; want the %d written", n, len(got), err, len(want))
		}
	}

	// As written before compression.
	if _, err := s.db.Collection(collBatches).InsertOne(ctx, bson.D{{Key: "_id", Value: pad(7)}, {Key: "first", Value: int64(7)}, {Key: "leaves", Value: leaves[:2]}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBatch(ctx, 7); err != nil || !slices.EqualFunc(got.Leaves, leaves[:2], bytes.Equal) {
		t.Errorf("ReadBatch(7) of an uncompressed batch = %q, %v", got.Leaves, err)
	}
	if _, err := s.db.Collection(collBundles).InsertOne(ctx, bson.D{{Key: "_id", Value: "9"}, {Key: "w", Value: 40}, {Key: "data", Value: bundle}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBundle(ctx, 9); err != nil || !bytes.Equal(got, bundle) {
		t.Errorf("ReadBundle(9) of an uncompressed bundle = %d bytes, %v", len(got), err)
	}

	// Damaged: one byte of the frame changed, or the count of entries.
	damaged := bytes.Clone(z.Data)
	damaged[len(damaged)/2] ^= 0x40
	if _, err := s.db.Collection(collBatches).UpdateOne(ctx, bson.D{{Key: "_id", Value: pad(100)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "z", Value: damaged}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBatch(ctx, 100); err == nil {
		t.Errorf("ReadBatch of a damaged frame = %d entries, want an error", len(got.Leaves))
	}
	if _, err := s.db.Collection(collBatches).UpdateOne(ctx, bson.D{{Key: "_id", Value: pad(100)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "z", Value: z.Data}, {Key: "n", Value: int64(39)}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBatch(ctx, 100); err == nil {
		t.Errorf("ReadBatch of a batch claiming 39 entries = %d entries, want an error", len(got.Leaves))
	}
	if _, err := s.db.Collection(collBatches).UpdateOne(ctx, bson.D{{Key: "_id", Value: pad(100)}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "z", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBatch(ctx, 100); err == nil {
		t.Errorf("ReadBatch of a batch whose entries were removed = %d entries, want an error", len(got.Leaves))
	}
}

// newEmbeddedStore starts an embedded server and opens a Store on it (storetest.Embedded, which
// imports this package, cannot serve an internal test).
func newEmbeddedStore(t testing.TB) (*Store, *embedded.Server) {
	t.Helper()
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return storeOn(t, srv, nil), srv
}

// storeOn opens a Store on srv through a client of its own (a process of its own, as far as the
// store knows), whose commands monitor sees if not nil.
func storeOn(t testing.TB, srv *embedded.Server, monitor *event.CommandMonitor) *Store {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	s, err := New(t.Context(), client.Database("govhub"), WithEmbedded(srv))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keysOf(m bson.M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A store records its document layout; a build refuses a store, or an export, of a newer one, and a
// fresh store (with only that record) is still empty for a restore.
func TestStoreFormat(t *testing.T) {
	s, srv := newEmbeddedStore(t)
	ctx := t.Context()
	var d struct {
		Format int `bson:"format"`
	}
	if err := s.Meta(ctx, metaStoreFormat, &d); err != nil || d.Format != storeFormat {
		t.Fatalf("store_format = %d, %v; want %d", d.Format, err, storeFormat)
	}
	if empty, err := s.Empty(ctx); err != nil || !empty {
		t.Errorf("Empty() of a fresh store = %v, %v; want true", empty, err)
	}
	older := must(bson.Marshal(bson.D{{Key: "_id", Value: metaStoreFormat}, {Key: "format", Value: int64(1)}}))
	if err := s.ImportDocuments(ctx, collMeta, []bson.Raw{older}); err != nil {
		t.Errorf("importing an older export's layout record = %v; want it skipped", err)
	}
	newer := must(bson.Marshal(bson.D{{Key: "_id", Value: metaStoreFormat}, {Key: "format", Value: int64(storeFormat + 1)}}))
	if err := s.ImportDocuments(ctx, collMeta, []bson.Raw{newer}); err == nil || !strings.Contains(err.Error(), "newer govhub") {
		t.Errorf("importing a newer export = %v; want it refused", err)
	}
	if err := s.PutMeta(ctx, metaStoreFormat, bson.D{{Key: "format", Value: storeFormat + 1}}); err != nil {
		t.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	for _, opts := range [][]Option{{WithEmbedded(srv)}, {ReadOnly()}} {
		if _, err := New(ctx, client.Database("govhub"), opts...); err == nil || !strings.Contains(err.Error(), "newer govhub") {
			t.Errorf("New on a store of a newer layout = %v; want it refused", err)
		}
	}
}
