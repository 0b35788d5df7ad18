package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store/embedded"
)

func start(t *testing.T, dir string) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(t.Context(), embedded.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Start(%s) = %v", dir, err)
	}
	return s
}

func TestStartConnectAndIndex(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	defer s.Shutdown(t.Context())

	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatalf("Connect(%s) = %v", s.URI(), err)
	}
	defer client.Disconnect(t.Context())
	coll := client.Database("t").Collection("things")
	fillIDs(t, coll, 1000) // too many to rebuild FerretDB's index at once: the store's goes beside it
	if _, err := coll.InsertOne(t.Context(), bson.M{"_id": "a", "v": 1}); err != nil {
		t.Fatalf("InsertOne = %v", err)
	}
	if err := s.IndexIDs(t.Context(), "t"); err != nil {
		t.Fatalf("IndexIDs = %v", err)
	}
	if err := s.IndexIDs(t.Context(), "t"); err != nil {
		t.Fatalf("IndexIDs again = %v", err)
	}
	var got bson.M
	if err := coll.FindOne(t.Context(), bson.M{"_id": "a"}).Decode(&got); err != nil {
		t.Fatalf("FindOne = %v", err)
	}

	// SQLite must plan FerretDB's own _id lookup through the expression index.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "sqlite", "t.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var table string
	if err := db.QueryRow(`SELECT table_name FROM "_ferretdb_collections" WHERE name = 'things'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE _ferretdb_sjson->'$._id' = ?`, `"a"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, table+"_govhub_id") {
		t.Errorf("query plan = %q, want it to use index %s_govhub_id", p, table)
	}
}

func TestSecondStartIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	_, err := embedded.Start(t.Context(), embedded.Config{Dir: dir})
	if !errors.Is(err, embedded.ErrLocked) {
		t.Fatalf("second Start = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "pid") {
		t.Errorf("second Start error %q does not name the holder", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "mongod.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Shutdown the socket is still there (Lstat = %v)", err)
	}
	// Released: a new start works.
	s2 := start(t, dir)
	if err := s2.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Database("t").Collection("c").InsertOne(t.Context(), bson.M{"_id": "k", "v": "x"}); err != nil {
		t.Fatal(err)
	}
	client.Disconnect(t.Context())
	s.Shutdown(t.Context())

	s = start(t, dir)
	defer s.Shutdown(t.Context())
	client, err = mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(t.Context())
	var got struct{ V string }
	if err := client.Database("t").Collection("c").FindOne(t.Context(), bson.M{"_id": "k"}).Decode(&got); err != nil || got.V != "x" {
		t.Fatalf("after restart FindOne = %+v, %v; want v=x", got, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

// TestStaleSocketRemoved starts on a directory where a crashed hub left its socket file behind.
func TestStaleSocketRemoved(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "mongod.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false) // as a process killed with SIGKILL leaves it
	l.Close()
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("stale socket not in place: %v, %v", fi, err)
	}
	s := start(t, dir)
	defer s.Shutdown(t.Context())
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(t.Context())
	if err := client.Ping(t.Context(), nil); err != nil {
		t.Fatalf("Ping through %s after replacing the stale socket = %v", s.URI(), err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// Attach reaches the database a running server holds (here another server in this process stands
// for the other process: flock locks belong to open files), and nothing once it has stopped.
func TestAttach(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := embedded.Attach(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Attach(no server) = %v, want os.ErrNotExist", err)
	}
	s := start(t, dir)
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(t.Context())
	if _, err := client.Database("t").Collection("things").InsertOne(t.Context(), bson.M{"_id": "a", "v": 1}); err != nil {
		t.Fatal(err)
	}
	uri, pid, err := embedded.Attach(dir)
	if err != nil || uri != s.URI() || pid != strconv.Itoa(os.Getpid()) {
		t.Fatalf("Attach = %q, %q, %v; want %q and our pid", uri, pid, err, s.URI())
	}
	reader, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Disconnect(t.Context())
	var got bson.M
	if err := reader.Database("t").Collection("things").FindOne(t.Context(), bson.M{"_id": "a"}).Decode(&got); err != nil {
		t.Errorf("reading through the attached URI = %v", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := embedded.Attach(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Attach(stopped server) = %v, want os.ErrNotExist", err)
	}
}

// startDB starts a server in a new directory and returns the directory, the server and its database
// "t" through a client of its own; all are stopped when the test ends.
func startDB(t *testing.T) (string, *embedded.Server, *mongo.Database) {
	t.Helper()
	dir := t.TempDir()
	s := start(t, dir)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	client, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) }) // before the server's Shutdown
	return dir, s, client.Database("t")
}

// collStatsCount is the document count FerretDB's collStats gives for coll (how the store's record
// audit counts).
func collStatsCount(t *testing.T, db *mongo.Database, coll string) (int64, error) {
	t.Helper()
	var stats struct {
		Count int64 `bson:"count"`
	}
	err := db.RunCommand(t.Context(), bson.D{{Key: "collStats", Value: coll}}).Decode(&stats)
	return stats.Count, err
}

// indexesOf returns the SQL of every index on collection coll's table in database file file, by
// index name.
func indexesOf(t *testing.T, file, coll string) (table string, indexes map[string]string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT table_name FROM "_ferretdb_collections" WHERE name = ?`, coll).Scan(&table); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	indexes = map[string]string{}
	for rows.Next() {
		var name string
		var q sql.NullString
		if err := rows.Scan(&name, &q); err != nil {
			t.Fatal(err)
		}
		indexes[name] = q.String
	}
	return table, indexes
}

// A collection created empty keeps one index on _id, unique, under FerretDB's name, on the expression
// FerretDB's lookups use (and its collStats still answers); a second document with the same _id is
// still refused as a duplicate. A collection that holds documents keeps FerretDB's unique index
// beside the store's, which is not rebuilt.
func TestIndexIDsLeavesOneUniqueIndexOnNewCollections(t *testing.T) {
	dir, s, db := startDB(t)
	if err := db.CreateCollection(t.Context(), "fresh"); err != nil {
		t.Fatal(err)
	}
	full := db.Collection("full") // as large as IndexIDs leaves with two indexes
	fillIDs(t, full, 1000)
	small := db.Collection("small") // small enough to rebuild at once
	fillIDs(t, small, 999)
	for range 2 { // idempotent
		if err := s.IndexIDs(t.Context(), "t"); err != nil {
			t.Fatalf("IndexIDs = %v", err)
		}
	}
	file := filepath.Join(dir, "sqlite", "t.sqlite")

	table, idx := indexesOf(t, file, "fresh")
	if q := idx[table+"__id_"]; !strings.HasPrefix(q, "CREATE UNIQUE INDEX") || !strings.Contains(q, `->'$._id'`) {
		t.Errorf("new collection: FerretDB's _id index is %q, want it unique on the expression its lookups use", q)
	}
	if len(idx) != 1 {
		t.Errorf("new collection: indexes %v, want one", idx)
	}
	fresh := db.Collection("fresh")
	if _, err := fresh.InsertOne(t.Context(), bson.M{"_id": "a", "v": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.InsertOne(t.Context(), bson.M{"_id": "a", "v": 2}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second insert of _id a = %v, want a duplicate key error", err)
	}
	_, err := fresh.InsertMany(t.Context(), []any{bson.M{"_id": "b"}, bson.M{"_id": "a"}}, options.InsertMany().SetOrdered(false))
	if !mongo.IsDuplicateKeyError(err) {
		t.Errorf("insert of b and a again = %v, want a duplicate key error", err)
	}
	var got bson.M
	if err := fresh.FindOne(t.Context(), bson.M{"_id": "a"}).Decode(&got); err != nil || got["v"] != int32(1) {
		t.Errorf("FindOne(a) = %v, %v; want v 1", got, err)
	}
	if n, err := fresh.CountDocuments(t.Context(), bson.M{}); err != nil || n != 2 {
		t.Errorf("documents: %d, %v; want 2 (a, b)", n, err)
	}
	if n, err := collStatsCount(t, db, "fresh"); err != nil || n != 2 {
		t.Errorf("collStats count = %d, %v; want 2", n, err)
	}

	table, idx = indexesOf(t, file, "full")
	if q := idx[table+"_govhub_id"]; !strings.HasPrefix(q, "CREATE INDEX") {
		t.Errorf("collection with 1000 documents: its lookup index is %q, want the plain one", q)
	}
	if q := idx[table+"__id_"]; !strings.HasPrefix(q, "CREATE UNIQUE INDEX") {
		t.Errorf("collection with 1000 documents: FerretDB's index is %q, want it kept", q)
	}
	if _, err := full.InsertOne(t.Context(), bson.M{"_id": "d0007"}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second insert of an _id in the collection with documents = %v, want a duplicate key error", err)
	}
	table, idx = indexesOf(t, file, "small")
	if q := idx[table+"__id_"]; len(idx) != 1 || !strings.HasPrefix(q, "CREATE UNIQUE INDEX") || !strings.Contains(q, `->'$._id'`) {
		t.Errorf("collection with 999 documents: indexes %v, want FerretDB's alone, unique on the expression", idx)
	}
	if _, err := small.InsertOne(t.Context(), bson.M{"_id": "d0007"}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second insert of an _id in the small collection = %v, want a duplicate key error", err)
	}
	if double, err := s.DoubleIDIndexes(t.Context(), "t"); err != nil || !slices.Equal(double, []string{"full"}) {
		t.Errorf("DoubleIDIndexes = %q, %v; want full alone", double, err)
	}
}

// fillIDs inserts n documents d0000, d0001, … with v its number.
func fillIDs(t *testing.T, c *mongo.Collection, n int) {
	t.Helper()
	docs := make([]any, n)
	for i := range n {
		docs[i] = bson.M{"_id": fmt.Sprintf("d%04d", i), "v": i}
	}
	if _, err := c.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
}

// A run of IndexIDs cut short between dropping FerretDB's index and making it again leaves the
// store's unique index alone; once documents are written the next run still makes FerretDB's again
// (its collStats needs it) and leaves one index.
func TestIndexIDsMendsACutShortRun(t *testing.T) {
	dir, s, db := startDB(t)
	c := db.Collection("cut")
	if _, err := c.InsertOne(t.Context(), bson.M{"_id": "a"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sqlite", "t.sqlite")
	table, _ := indexesOf(t, file, "cut")
	rw, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	for _, q := range []string{
		`CREATE UNIQUE INDEX "` + table + `_govhub_id" ON "` + table + `" (_ferretdb_sjson->'$._id')`,
		`DROP INDEX "` + table + `__id_"`,
	} {
		if _, err := rw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.IndexIDs(t.Context(), "t"); err != nil {
		t.Fatalf("IndexIDs = %v", err)
	}
	_, idx := indexesOf(t, file, "cut")
	if q := idx[table+"__id_"]; !strings.HasPrefix(q, "CREATE UNIQUE INDEX") || !strings.Contains(q, `->'$._id'`) || len(idx) != 1 {
		t.Errorf("indexes %v, want FerretDB's alone, unique on the expression its lookups use", idx)
	}
	if n, err := collStatsCount(t, db, "cut"); err != nil || n != 1 {
		t.Errorf("collStats count = %d, %v; want 1", n, err)
	}
	if _, err := c.InsertOne(t.Context(), bson.M{"_id": "a"}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("second insert of _id a = %v, want a duplicate key error", err)
	}
}

// MergeIDIndexes leaves a collection that kept two _id indexes (it held 1000 documents when
// IndexIDs first ran) with FerretDB's one, unique on the expression the lookups use: _id stays unique,
// lookups and collStats answer, the documents are all there; a second run changes nothing.
func TestMergeIDIndexes(t *testing.T) {
	dir, s, db := startDB(t)
	full := db.Collection("full")
	fillIDs(t, full, 1000)
	if err := db.CreateCollection(t.Context(), "fresh"); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexIDs(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sqlite", "t.sqlite")
	if _, idx := indexesOf(t, file, "full"); len(idx) != 2 {
		t.Fatalf("before: indexes %v, want two", idx)
	}
	var calls []string
	got, err := s.MergeIDIndexes(t.Context(), "t", func(done, total int64, next embedded.IDIndexMerge) {
		calls = append(calls, fmt.Sprintf("%d/%d %s", done, total, next.Collection))
	})
	if err != nil {
		t.Fatalf("MergeIDIndexes = %v", err)
	}
	want := []embedded.IDIndexMerge{{Collection: "fresh"}, {Collection: "full", Documents: 1000, Merged: true}}
	if len(got) != 2 || got[0] != want[0] || got[1].Collection != "full" || got[1].Documents != 1000 || !got[1].Merged || got[1].Took <= 0 {
		t.Errorf("MergeIDIndexes = %+v, want %+v (and the time full's rebuild took)", got, want)
	}
	if want := []string{"0/1000 fresh", "0/1000 full", "1000/1000 "}; !slices.Equal(calls, want) {
		t.Errorf("progress calls %q, want %q", calls, want)
	}
	table, idx := indexesOf(t, file, "full")
	if q := idx[table+"__id_"]; len(idx) != 1 || !strings.HasPrefix(q, "CREATE UNIQUE INDEX") || !strings.Contains(q, `->'$._id'`) {
		t.Errorf("after: indexes %v, want FerretDB's alone, unique on the expression the lookups use", idx)
	}
	if _, err := full.InsertOne(t.Context(), bson.M{"_id": "d0007"}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("insert of an _id stored = %v, want a duplicate key error", err)
	}
	var d bson.M
	if err := full.FindOne(t.Context(), bson.M{"_id": "d0321"}).Decode(&d); err != nil || d["v"] != int32(321) {
		t.Errorf("FindOne(d0321) = %v, %v; want v 321", d, err)
	}
	if n, err := collStatsCount(t, db, "full"); err != nil || n != 1000 {
		t.Errorf("collStats count = %d, %v; want 1000", n, err)
	}
	if double, err := s.DoubleIDIndexes(t.Context(), "t"); err != nil || len(double) != 0 {
		t.Errorf("DoubleIDIndexes after = %q, %v; want none", double, err)
	}
	again, err := s.MergeIDIndexes(t.Context(), "t", nil)
	if err != nil || len(again) != 2 || again[0].Merged || again[1].Merged {
		t.Errorf("second MergeIDIndexes = %+v, %v; want nothing changed", again, err)
	}
}
