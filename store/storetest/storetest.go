// Package storetest is the conformance suite every store configuration must pass (Run), and the
// helpers tests use to get a real store: the embedded FerretDB in a temporary directory (Embedded),
// or the database server named by GOVHUB_TEST_MONGO_URI (Mongo): MongoDB, or FerretDB in another
// process, as CI runs it (.ci/run). Mongo skips when the variable is unset, except under CI=true,
// where it fails: CI must not pass by skipping the server tests.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/mongostore"
)

// MongoURIEnv names the environment variable holding a MongoDB URI for tests.
const MongoURIEnv = "GOVHUB_TEST_MONGO_URI"

// Env is a store a test can use, with what it is made of.
type Env struct {
	Store  *mongostore.Store
	Client *mongo.Client
	DB     *mongo.Database
	Server *embedded.Server // nil against MongoDB
	Dir    string           // the embedded server's directory
	URI    string           // the server's MongoDB URI
	// FerretDB is true when the server is a FerretDB this process does not own (reached by URI),
	// whose compare-and-swap writes are not atomic: see SkipNonAtomicCAS.
	FerretDB bool
}

// Embedded starts an embedded FerretDB in a fresh temporary directory and opens a store on it.
// Everything is stopped when the test ends.
func Embedded(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: dir})
	if err != nil {
		t.Fatalf("embedded.Start = %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	env := connect(t, srv.URI(), "govhub", mongostore.WithEmbedded(srv))
	env.Server, env.Dir = srv, dir
	return env
}

// Mongo opens a store in a fresh database of the MongoDB at $GOVHUB_TEST_MONGO_URI, dropped when the
// test ends; it skips the test when the variable is unset.
func Mongo(t testing.TB) *Env {
	t.Helper()
	uri := MongoURI(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	env := connect(t, uri, "govhub_test_"+hex.EncodeToString(b[:]))
	t.Cleanup(func() { _ = env.DB.Drop(context.Background()) })
	ferret, err := mongostore.ServedByFerretDB(t.Context(), env.DB)
	if err != nil {
		t.Fatal(err)
	}
	env.FerretDB = ferret
	return env
}

// MongoURI returns $GOVHUB_TEST_MONGO_URI. When it is unset it skips the test, or fails it under
// CI=true (CI starts a server and sets the variable: see .ci/run).
func MongoURI(t testing.TB) string {
	t.Helper()
	uri := os.Getenv(MongoURIEnv)
	if uri != "" {
		return uri
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set, and CI=true: CI must run this test against a database server (.ci/run starts one)", MongoURIEnv)
	}
	t.Skipf("%s is not set: set it to a MongoDB URI (a MongoDB replica set, or FerretDB as .ci/run starts it) to run this test", MongoURIEnv)
	return ""
}

// SkipNonAtomicCAS skips the rest of a test whose case needs compare-and-swap writes to be atomic
// across connections, when the server is a FerretDB reached by URI: FerretDB v1 applies an update
// filtered on {_id, version} as a read, then a write by _id, so writers racing from one version may
// all succeed (see mongostore.ServedByFerretDB). what names what was observed; call it only after
// the case showed the limit, so a FerretDB that does keep racers apart still passes.
func (e *Env) SkipNonAtomicCAS(t testing.TB, what string) {
	t.Helper()
	if e.FerretDB {
		t.Skipf("known limit of FerretDB (not atomic {_id, version} compare-and-swap; a hub must not share it with another hub): %s", what)
	}
}

// second opens another Store on the same database and server, as a process that opens one for its
// hub and one for its ledger does.
func (e *Env) second(t testing.TB) *mongostore.Store {
	t.Helper()
	var opts []mongostore.Option
	if e.Server != nil {
		opts = append(opts, mongostore.WithEmbedded(e.Server))
	}
	s, err := mongostore.New(t.Context(), e.DB, opts...)
	if err != nil {
		t.Fatalf("mongostore.New (second store) = %v", err)
	}
	return s
}

func connect(t testing.TB, uri, db string, opts ...mongostore.Option) *Env {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(30 * time.Second))
	if err != nil {
		t.Fatalf("mongo.Connect = %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	s, err := mongostore.New(t.Context(), client.Database(db), opts...)
	if err != nil {
		t.Fatalf("mongostore.New = %v", err)
	}
	return &Env{Store: s, Client: client, DB: client.Database(db), URI: uri}
}

// UnpackCitizens rewrites the citizens' documents of record_heads in db whose ids are given (all
// with none) as a store of format 3 held them: the fields of their packed form (p) at their top
// level, without n and p. A store reads both forms, so a test that edits those fields behind the
// hub's back (tampering, an older layout) unpacks the documents first.
func UnpackCitizens(ctx context.Context, db *mongo.Database, ids ...string) error {
	coll := db.Collection("record_heads")
	filter := bson.D{{Key: "p", Value: bson.D{{Key: "$exists", Value: true}}}}
	if len(ids) > 0 {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		return err
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		return err
	}
	for _, d := range docs {
		p, ok := d["p"].(bson.Binary)
		if !ok {
			continue
		}
		var out bson.D
		if err := bson.Unmarshal(p.Data, &out); err != nil {
			return fmt.Errorf("the packed document of %v: %w", d["_id"], err)
		}
		out = append(bson.D{{Key: "_id", Value: d["_id"]}}, out...)
		if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}}, out); err != nil {
			return err
		}
	}
	return nil
}

// CitizenRecords returns the records a citizen's document of record_heads holds, by dataset, each
// as the BSON bytes of its document: from its packed form (p), or from its top level for a
// document written before format 4.
func CitizenRecords(doc bson.Raw) (map[string][]byte, error) {
	if _, p, ok := doc.Lookup("p").BinaryOK(); ok {
		doc = p
	}
	out := map[string][]byte{}
	recs, ok := doc.Lookup("records").DocumentOK()
	if !ok {
		return out, nil
	}
	elems, err := recs.Elements()
	if err != nil {
		return nil, err
	}
	for _, e := range elems {
		_, data, ok := e.Value().BinaryOK()
		if !ok {
			return nil, fmt.Errorf("record %s is not bytes", e.Key())
		}
		out[e.Key()] = data
	}
	return out, nil
}
