package graph_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store/storetest"
)

// testCitizens is how many demo citizens a test hub holds.
const testCitizens = 60

const tokenIssuer = "govhub-graph-test"

// testHub is a real hub (embedded FerretDB, ledger, demo policy) seeded with demo citizens
// 1…testCitizens, behind auth.Middleware and graph.NewHandler.
type testHub struct {
	env     *storetest.Env
	log     *ledger.Log
	reader  *hub.Reader
	issuer  *auth.Issuer
	handler http.Handler
	gen     *demo.Generator
}

func newTestHub(t *testing.T) *testHub {
	t.Helper()
	return newTestHubWith(t, policy.Demo())
}

// newTestHubWith is newTestHub under another policy.
func newTestHubWith(t *testing.T, set policy.Set) *testHub {
	t.Helper()
	env := storetest.Embedded(t)

	skey, err := keys.NewNoteKey("govhub.test/graph")
	if err != nil {
		t.Fatal(err)
	}
	nk, err := keys.ParseNote(skey)
	if err != nil {
		t.Fatal(err)
	}
	// The log's lifetime outlasts the test's context: it is shut down (writing what is queued)
	// before the store closes, in the cleanup below (cleanups run last-registered first).
	life, cancel := context.WithCancel(context.Background())
	lg, err := ledger.New(life, ledger.Config{Storage: env.Store, Signer: nk.Signer, Verifier: nk.Verifier},
		ledger.WithIntegrationInterval(10*time.Millisecond))
	if err != nil {
		cancel()
		t.Fatalf("ledger.New = %v", err)
	}
	t.Cleanup(func() {
		ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		if err := lg.Shutdown(ctx); err != nil {
			t.Errorf("ledger Shutdown = %v", err)
		}
		cancel()
	})

	engine, err := policy.New(set, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatalf("policy.New = %v", err)
	}
	master, err := seal.NewMasterKey(randomBytes(t, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	indexKey := randomBytes(t, 32)
	officials, err := usecase.NewOfficials(randomBytes(t, 32), env.Store)
	if err != nil {
		t.Fatal(err)
	}
	ikey, err := hub.IntegrityKey(indexKey)
	if err != nil {
		t.Fatal(err)
	}
	integrity, err := hub.NewIntegrity(hub.IntegrityConfig{Key: ikey, Heads: env.Store, Snapshots: env.Store})
	if err != nil {
		t.Fatal(err)
	}
	if err := integrity.CatchUp(t.Context(), lg.Reader(), nil); err != nil {
		t.Fatal(err)
	}
	reader, err := hub.NewReader(hub.ReaderConfig{Records: env.Store, Lister: env.Store, Keys: env.Store, Master: master,
		Index: env.Store, Ledger: lg, Policy: engine, IndexKey: indexKey, Officials: officials, Integrity: integrity})
	if err != nil {
		t.Fatalf("hub.NewReader = %v", err)
	}
	updater, err := hub.NewUpdater(hub.UpdaterConfig{Records: env.Store, Keys: env.Store, Master: master, Pending: env.Store,
		Index: env.Store, Ledger: lg, Leaves: lg.Reader(), Policy: engine, IndexKey: indexKey, Officials: officials, Integrity: integrity})
	if err != nil {
		t.Fatalf("hub.NewUpdater = %v", err)
	}
	review, err := hub.NewReview(lg, lg.Reader())
	if err != nil {
		t.Fatalf("hub.NewReview = %v", err)
	}
	gen := demo.NewGenerator(1)
	citizens := make([]hub.NewCitizen, testCitizens)
	for i := range citizens {
		c := gen.Citizen(i + 1)
		citizens[i] = hub.NewCitizen{ID: c.ID, Records: c.Records}
	}
	if err := updater.Import(t.Context(), citizens); err != nil {
		t.Fatalf("Import = %v", err)
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(priv, tokenIssuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(pub, tokenIssuer)
	if err != nil {
		t.Fatal(err)
	}
	gql := graph.NewHandler(&graph.Resolver{Reader: reader, Updater: updater, Review: review}, graph.HandlerConfig{})
	return &testHub{env: env, log: lg, reader: reader, issuer: issuer, handler: auth.Middleware(verifier, gql), gen: gen}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Principals of the demo policy.
var (
	doctor       = auth.Principal{Kind: auth.KindDepartment, Department: "health", Role: "doctor", Subject: "d1"}
	housingClerk = auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "h1"}
	civilClerk   = auth.Principal{Kind: auth.KindDepartment, Department: "civil-affairs", Role: "clerk", Subject: "c1"}
	policeClerk  = auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "p1"}
	taxClerk     = auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}
)

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// result is a decoded GraphQL response.
type result struct {
	Data       map[string]any
	Errors     []gqlError
	Extensions map[string]any
	Raw        []byte // data and errors as JSON, to look for what must not be there
}

// query sends a GraphQL operation as p through gqlgen's test client to the real handler.
func (h *testHub) query(t *testing.T, p auth.Principal, q string, vars map[string]any) result {
	t.Helper()
	tok, err := h.issuer.Issue(p, time.Hour)
	if err != nil {
		t.Fatalf("Issue(%+v) = %v", p, err)
	}
	return post(t, h.handler, tok, q, vars)
}

func post(t *testing.T, handler http.Handler, token, q string, vars map[string]any) result {
	t.Helper()
	opts := []client.Option{}
	if token != "" {
		opts = append(opts, client.AddHeader("Authorization", "Bearer "+token))
	}
	c := client.New(handler, opts...)
	var vopts []client.Option
	for k, v := range vars {
		vopts = append(vopts, client.Var(k, v))
	}
	resp, err := c.RawPost(q, vopts...)
	if err != nil {
		t.Fatalf("RawPost = %v", err)
	}
	res := result{Extensions: resp.Extensions}
	res.Data, _ = resp.Data.(map[string]any)
	if len(resp.Errors) > 0 {
		if err := json.Unmarshal(resp.Errors, &res.Errors); err != nil {
			t.Fatalf("decoding errors %s: %v", resp.Errors, err)
		}
	}
	raw, err := json.Marshal(map[string]any{"data": resp.Data, "errors": resp.Errors})
	if err != nil {
		t.Fatal(err)
	}
	res.Raw = raw
	return res
}

// errorAt returns the error at a path, if any.
func (r result) errorAt(path ...any) *gqlError {
	for i, e := range r.Errors {
		if len(e.Path) != len(path) {
			continue
		}
		same := true
		for j := range path {
			// JSON numbers decode as float64.
			if n, ok := path[j].(int); ok {
				if e.Path[j] != float64(n) {
					same = false
				}
			} else if e.Path[j] != path[j] {
				same = false
			}
		}
		if same {
			return &r.Errors[i]
		}
	}
	return nil
}

// get walks nested maps and lists: get(m, "citizen", "property", 0, "city").
func get(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// entries reads every sequenced ledger entry, in order, with its raw bytes.
func (h *testHub) entries(t *testing.T) ([]ledger.Entry, [][]byte) {
	t.Helper()
	var out []ledger.Entry
	var raw [][]byte
	next := uint64(0)
	for {
		b, err := h.env.Store.ReadBatch(t.Context(), next)
		if errors.Is(err, ledger.ErrNotFound) {
			return out, raw
		}
		if err != nil {
			t.Fatalf("ReadBatch(%d) = %v", next, err)
		}
		for _, leaf := range b.Leaves {
			e, err := ledger.ParseEntry(leaf)
			if err != nil {
				t.Fatalf("stored entry %d: %v", next, err)
			}
			out = append(out, e)
			raw = append(raw, leaf)
			next++
		}
	}
}

// receiptEntry checks the response's extensions.ledger receipt (signature, leaf hash) and returns
// the entry it names.
func (h *testHub) receiptEntry(t *testing.T, r result) ledger.Entry {
	t.Helper()
	ext, ok := r.Extensions["ledger"].(map[string]any)
	if !ok {
		t.Fatalf("response has no extensions.ledger: %v", r.Extensions)
	}
	index := uint64(ext["index"].(float64))
	leafHash, err := base64.StdEncoding.DecodeString(ext["leafHash"].(string))
	if err != nil || len(leafHash) != 32 {
		t.Fatalf("extensions.ledger.leafHash = %v", ext["leafHash"])
	}
	sig, err := base64.StdEncoding.DecodeString(ext["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rc := ledger.Receipt{Index: index, Signature: sig}
	copy(rc.LeafHash[:], leafHash)
	if err := ledger.CheckReceipt(h.log.Reader().Keys().Current(), rc); err != nil {
		t.Errorf("CheckReceipt(extensions.ledger) = %v", err)
	}
	all, raw := h.entries(t)
	if index >= uint64(len(all)) {
		t.Fatalf("receipt index %d, but the ledger holds %d entries", index, len(all))
	}
	if got := ledger.LeafHash(raw[index]); !bytes.Equal(got[:], leafHash) {
		t.Errorf("entry %d hashes to %x, the receipt says %x", index, got, leafHash)
	}
	return all[index]
}

// levels returns an entry's field levels by name.
func levels(e ledger.Entry) map[string]string {
	out := map[string]string{}
	for _, f := range e.Fields {
		out[f.Name] = f.Level
	}
	return out
}

// findCitizen returns the first demo citizen for which ok holds.
func (h *testHub) findCitizen(t *testing.T, what string, ok func(demo.Citizen) bool) demo.Citizen {
	t.Helper()
	for i := 1; i <= testCitizens; i++ {
		if c := h.gen.Citizen(i); ok(c) {
			return c
		}
	}
	t.Fatalf("no demo citizen among %d %s", testCitizens, what)
	return demo.Citizen{}
}

// has reports whether c has a record in every dataset named.
func has(datasets ...string) func(demo.Citizen) bool {
	return func(c demo.Citizen) bool {
		for _, ds := range datasets {
			if len(c.Records[ds]) == 0 {
				return false
			}
		}
		return true
	}
}
