package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

const testSeed = 1

// testHub is a hub on the embedded store in a temporary data directory, seeded with demo data,
// serving its real HTTP handler.
type testHub struct {
	t       testing.TB
	dir     string
	app     *app
	handler http.Handler
	gen     *demo.Generator
	// recordCache is the hub's --record-cache (0: none).
	recordCache int
}

func startHub(t testing.TB, citizens int) *testHub {
	t.Helper()
	dir := t.TempDir()
	h := &testHub{t: t, dir: dir, gen: demo.NewGenerator(testSeed)}
	h.open()
	if err := seedDemo(t.Context(), h.app, citizens, testSeed); err != nil {
		t.Fatalf("seedDemo = %v", err)
	}
	return h
}

func (h *testHub) config() config {
	return config{DataDir: h.dir, MongoDB: "govhub", LogOrigin: "govhub.test/ledger",
		IntegrationInterval: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RecordCache: h.recordCache}
}

func (h *testHub) open() {
	h.t.Helper()
	a, err := openApp(h.t.Context(), h.config())
	if err != nil {
		h.t.Fatalf("openApp = %v", err)
	}
	h.app, h.handler = a, a.handler()
	h.t.Cleanup(func() { h.close() })
}

func (h *testHub) close() {
	if h.app != nil {
		if err := h.app.close(context.Background()); err != nil {
			h.t.Errorf("closing the hub: %v", err)
		}
		h.app = nil
	}
}

func (h *testHub) token(p auth.Principal) string {
	h.t.Helper()
	tok, err := h.app.issuer.Issue(p, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

var (
	housingClerk = auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "h1"}
	taxClerk     = auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}
	policeClerk  = auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "p1"}
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
	Raw        *client.Response
}

// query posts a GraphQL operation through gqlgen's test client against the real handler.
func (h *testHub) query(token, q string, vars map[string]any) result {
	h.t.Helper()
	c := client.New(h.handler, client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+token))
	var opts []client.Option
	for k, v := range vars {
		opts = append(opts, client.Var(k, v))
	}
	resp, err := c.RawPost(q, opts...)
	if err != nil {
		h.t.Fatalf("RawPost = %v", err)
	}
	res := result{Extensions: resp.Extensions, Raw: resp}
	if resp.Data != nil {
		res.Data, _ = resp.Data.(map[string]any)
	}
	if len(resp.Errors) > 0 {
		if err := json.Unmarshal(resp.Errors, &res.Errors); err != nil {
			h.t.Fatalf("decoding errors %s: %v", resp.Errors, err)
		}
	}
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
			if e.Path[j] != path[j] {
				same = false
			}
		}
		if same {
			return &r.Errors[i]
		}
	}
	return nil
}

// get walks nested maps: get(m, "citizen", "identity", "name").
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// entries reads every sequenced ledger entry, in order, with its raw bytes.
func (h *testHub) entries() ([]ledger.Entry, [][]byte) {
	h.t.Helper()
	var out []ledger.Entry
	var raw [][]byte
	next := uint64(0)
	for {
		b, err := h.app.storage.ledgerStore.ReadBatch(h.t.Context(), next)
		if errors.Is(err, ledger.ErrNotFound) {
			return out, raw
		}
		if err != nil {
			h.t.Fatal(err)
		}
		for _, leaf := range b.Leaves {
			e, err := ledger.ParseEntry(leaf)
			if err != nil {
				h.t.Fatalf("stored entry %d: %v", next, err)
			}
			out = append(out, e)
			raw = append(raw, leaf)
			next++
		}
	}
}

// receiptOf returns the response's extensions.ledger receipt.
func (h *testHub) receiptOf(r result) ledger.Receipt {
	h.t.Helper()
	ext, ok := r.Extensions["ledger"].(map[string]any)
	if !ok {
		h.t.Fatalf("response has no extensions.ledger: %v", r.Extensions)
	}
	leafHash, err := base64.StdEncoding.DecodeString(ext["leafHash"].(string))
	if err != nil || len(leafHash) != 32 {
		h.t.Fatalf("extensions.ledger.leafHash = %v", ext["leafHash"])
	}
	sig, err := base64.StdEncoding.DecodeString(ext["signature"].(string))
	if err != nil {
		h.t.Fatal(err)
	}
	rc := ledger.Receipt{Index: uint64(ext["index"].(float64)), Signature: sig}
	copy(rc.LeafHash[:], leafHash)
	return rc
}

// receiptEntry checks the response's extensions.ledger receipt (under the log key of its era) and
// returns the entry it names.
func (h *testHub) receiptEntry(r result) (ledger.Entry, []byte) {
	h.t.Helper()
	rc := h.receiptOf(r)
	index, leafHash := rc.Index, rc.LeafHash[:]
	if err := h.app.log.Reader().Keys().CheckReceipt(rc); err != nil {
		h.t.Errorf("CheckReceipt(extensions.ledger) = %v", err)
	}
	all, raw := h.entries()
	if index >= uint64(len(all)) {
		h.t.Fatalf("receipt index %d, but the ledger holds %d entries", index, len(all))
	}
	if got := ledger.LeafHash(raw[index]); !bytes.Equal(got[:], leafHash) {
		h.t.Errorf("entry %d hashes to %x, the receipt says %x", index, got, leafHash)
	}
	return all[index], raw[index]
}

// post sends a raw HTTP request to the handler (for requests the GraphQL client cannot express).
func (h *testHub) post(header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, req)
	return w
}

// findCitizen returns the first demo citizen holding all the given datasets.
func (h *testHub) findCitizen(n int, datasets ...string) demo.Citizen {
	h.t.Helper()
	for i := 1; i <= n; i++ {
		c := h.gen.Citizen(i)
		ok := true
		for _, ds := range datasets {
			if len(c.Records[ds]) == 0 {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
	h.t.Fatalf("no demo citizen among %d has %v", n, datasets)
	return demo.Citizen{}
}

// receiptEntryOrLast returns the entry of the response's receipt, or the last entry of the ledger
// for a refused request (which carries no receipt).
func (h *testHub) receiptEntryOrLast(r result) (ledger.Entry, []byte) {
	h.t.Helper()
	if _, ok := r.Extensions["ledger"]; ok {
		return h.receiptEntry(r)
	}
	all, raw := h.entries()
	return all[len(all)-1], raw[len(raw)-1]
}
