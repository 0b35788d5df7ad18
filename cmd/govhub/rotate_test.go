package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// The master key is rotated with `govhub keys rotate --wait` while department clerks read and
// update sealed values: no request fails, the rotation is on the ledger before the key is used,
// every data key ends up wrapped under the new key, a receipt from before still verifies, and a
// restarted hub reads everything with the key files it finds.
func TestMasterKeyRotationUnderLoad(t *testing.T) {
	const n = 30
	h := startHub(t, n)
	ids := h.citizensWith(n, "tax")
	if len(ids) < 5 {
		t.Fatalf("only %d demo citizens with tax records", len(ids))
	}
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	tax := h.token(taxClerk)
	first := h.query(tax, taxQuery, map[string]any{"id": ids[0]})
	if len(first.Errors) > 0 {
		t.Fatalf("read before the rotation: %+v", first.Errors)
	}
	oldIndex := receiptIndex(first)
	h.waitPublished(oldIndex + 1)
	var oldReceipt, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", fmt.Sprint(oldIndex)}, &oldReceipt, &errOut); err != nil {
		t.Fatalf("ledger receipt = %v (%s)", err, errOut.String())
	}
	before := h.app.keys.master.Current()

	// Load: 4 clients reading and updating sealed tax values of random citizens.
	load := startTaxLoad(h, tax, ids, 90000000)
	time.Sleep(300 * time.Millisecond)
	var out bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--data-dir", h.dir, "--hub", srv.URL, "--token", h.token(operator), "--wait"}, &out, io.Discard)
	time.Sleep(300 * time.Millisecond)
	load.finish(t)
	if err != nil {
		t.Fatalf("keys rotate = %v\n%s", err, out.String())
	}
	t.Logf("%d requests during the rotation\n%s", load.requests.Load(), out.String())
	if !strings.Contains(out.String(), "master key rotated: new key ") || !strings.Contains(out.String(), "re-wrapped: ") {
		t.Errorf("keys rotate printed:\n%s", out.String())
	}

	// The new key is current and on disk (0600), and every data key is wrapped under it.
	cur := h.app.keys.master.Current()
	if cur == before {
		t.Fatalf("the current master key is still %s", cur)
	}
	fi, err := os.Stat(filepath.Join(h.dir, "keys", "master-2.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys/master-2.key: %v, mode %v", err, fi)
	}
	cursor, err := h.collection("datakeys").Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		Wrapped []byte `bson:"wrapped"`
	}
	if err := cursor.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) < n {
		t.Fatalf("%d data keys, want at least %d", len(docs), n)
	}
	for _, d := range docs {
		if under := seal.WrappedUnder(d.Wrapped); under != cur {
			t.Errorf("the data key of %s is wrapped under %q, not the new key %s", d.ID, under, cur)
		}
	}

	// The rotation entry is on the ledger, naming the new key by its digest only.
	entries, raws := h.entries()
	found := false
	for i, e := range entries {
		if e.Kind == ledger.KindRotation {
			found = true
			if e.Reason != "master" || !bytes.Equal(e.Record, hub.RotationDigest("master", cur)) || e.Department != "operator" {
				t.Errorf("rotation entry = %+v", e)
			}
			if bytes.Contains(raws[i], []byte(cur)) {
				t.Errorf("the rotation entry names the key id in clear:\n%s", raws[i])
			}
		}
	}
	if !found {
		t.Fatal("no rotation entry on the ledger")
	}

	// A receipt from before the rotation still verifies.
	file := filepath.Join(t.TempDir(), "old.tlog-proof")
	if err := os.WriteFile(file, oldReceipt.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var check bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "check-receipt", file, "--log-key", h.app.keys.log.VerifierKey}, &check, &errOut); err != nil {
		t.Errorf("check-receipt of a receipt from before the rotation = %v: %s", err, check.String())
	}

	// A restarted hub reads the ring from the key files, and every sealed value still opens.
	if b, err := os.ReadFile(filepath.Join(h.dir, "keys", rewrapMarker)); err != nil || strings.TrimSpace(string(b)) != cur {
		t.Errorf("re-wrap marker = %q, %v; want %s", b, err, cur)
	}
	h.close()
	h.open()
	if got := h.app.keys.master.Current(); got != cur {
		t.Errorf("after a restart the current master key is %s, want %s", got, cur)
	}
	tax = h.token(taxClerk)
	for _, id := range ids {
		res := h.query(tax, taxQuery, map[string]any{"id": id})
		if len(res.Errors) > 0 || get(res.Data, "citizen", "tax", "annualIncome", "value") == nil {
			t.Errorf("after a restart, reading %s: %+v", id, res.Errors)
		}
	}
}

// Only operators rotate keys; an unknown key name is refused with the choices.
func TestKeysRotateRefusals(t *testing.T) {
	h := startHub(t, 3)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--hub", srv.URL, "--token", h.token(taxClerk)}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("keys rotate with a clerk's token = %v, want 403", err)
	}
	err = run(t.Context(), []string{"keys", "rotate", "--hub", srv.URL, "--token", h.token(operator), "--key", "ledger"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "choices: master") {
		t.Errorf("keys rotate --key ledger = %v, want the choices", err)
	}
	if fileExists(filepath.Join(h.dir, "keys", "master-2.key")) {
		t.Errorf("a refused rotation wrote a key")
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Two hubs sharing key files: when one rotates, the other opens data keys wrapped under the new
// key by reading the key files again, and a key nobody has is still refused.
func TestMasterRingFollowsKeyFiles(t *testing.T) {
	dir := t.TempDir()
	a, err := loadMasterRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadMasterRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	newKey := bytes.Repeat([]byte{7}, seal.KeySize)
	if err := a.persist(newKey); err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	dk, err := seal.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.Wrap("C000001", dk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unwrap("C000001", w); err != nil {
		t.Fatalf("the other instance's Unwrap = %v", err)
	}
	if b.Current() != a.Current() {
		t.Errorf("the other instance's current key is %s, want %s", b.Current(), a.Current())
	}
	other, _ := seal.NewRing(bytes.Repeat([]byte{9}, seal.KeySize))
	w2, _ := other.Wrap("C000001", dk)
	time.Sleep(1100 * time.Millisecond) // past the reload interval
	if _, err := b.Unwrap("C000001", w2); err == nil {
		t.Error("a wrap under a key in no file unwrapped")
	}
	files, _ := masterKeyFiles(dir)
	if strings.Join(files, " ") != "master.key master-2.key" {
		t.Errorf("key files = %v", files)
	}
	if err := a.persist(bytes.Repeat([]byte{8}, seal.KeySize)); err != nil {
		t.Fatal(err)
	}
	if files, _ := masterKeyFiles(dir); strings.Join(files, " ") != "master.key master-2.key master-3.key" {
		t.Errorf("key files after a second rotation = %v", files)
	}
}

// The token issuer key is rotated while clerks keep using tokens issued before: no request fails,
// the JWKS lists both keys, tokens of the new key (minted by `govhub token` from the replaced key
// file) are accepted, and old tokens still are after a restart, until they expire.
func TestTokenKeyRotationUnderLoad(t *testing.T) {
	const n = 10
	h := startHub(t, n)
	ids := h.citizensWith(n, "tax")
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	oldTax := h.token(taxClerk)
	oldKid := auth.KeyID(h.app.issuer.Public())
	var (
		requests, failures atomic.Int64
		firstFailure       atomic.Value
		stop               = make(chan struct{})
		wg                 sync.WaitGroup
	)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 3 {
				select {
				case <-stop:
					return
				default:
				}
				res := h.query(oldTax, taxQuery, map[string]any{"id": ids[i%len(ids)]})
				requests.Add(1)
				if len(res.Errors) > 0 {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%+v", res.Errors))
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	var out bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--key", "token", "--hub", srv.URL, "--token", h.token(operator)}, &out, io.Discard)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("keys rotate --key token = %v\n%s", err, out.String())
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d requests failed during the token key rotation; first: %v", f, requests.Load(), firstFailure.Load())
	}
	newKid := auth.KeyID(h.app.issuer.Public())
	if newKid == oldKid || !strings.Contains(out.String(), newKid) {
		t.Fatalf("kid %s → %s; printed:\n%s", oldKid, newKid, out.String())
	}
	jwks := httptest.NewRecorder()
	h.handler.ServeHTTP(jwks, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if jwks.Code != 200 || !strings.Contains(jwks.Body.String(), `"kid":"`+newKid+`"`) || !strings.Contains(jwks.Body.String(), `"kid":"`+oldKid+`"`) {
		t.Errorf("JWKS = %d %s, want both kids", jwks.Code, jwks.Body.String())
	}
	var tokOut bytes.Buffer
	if err := run(t.Context(), []string{"token", "--data-dir", h.dir, "--kind", "department", "--department", "tax", "--role", "clerk", "--subject", "t2"}, &tokOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	newTax := strings.TrimSpace(tokOut.String())
	for name, tok := range map[string]string{"old": oldTax, "new": newTax} {
		if res := h.query(tok, taxQuery, map[string]any{"id": ids[0]}); len(res.Errors) > 0 {
			t.Errorf("a token of the %s key after the rotation: %+v", name, res.Errors)
		}
	}
	// The rotation entry names the new kid by its digest.
	entries, _ := h.entries()
	found := false
	for _, e := range entries {
		if e.Kind == ledger.KindRotation && e.Reason == "token" && bytes.Equal(e.Record, hub.RotationDigest("token", newKid)) {
			found = true
		}
	}
	if !found {
		t.Error("no token rotation entry on the ledger")
	}
	h.close()
	h.open()
	for name, tok := range map[string]string{"old": oldTax, "new": newTax} {
		if res := h.query(tok, taxQuery, map[string]any{"id": ids[0]}); len(res.Errors) > 0 {
			t.Errorf("after a restart, a token of the %s key: %+v", name, res.Errors)
		}
	}
}

// taxLoad is four clients reading and updating sealed tax values of citizens, until finish.
type taxLoad struct {
	requests, failures atomic.Int64
	firstFailure       atomic.Value
	lastIndex          atomic.Uint64 // the largest ledger index a request was logged at
	slowest            atomic.Int64  // the slowest request, in nanoseconds
	stop               chan struct{}
	wg                 sync.WaitGroup
}

// startTaxLoad starts the clients, as the tax clerk whose token is tax, over ids; updates write
// incomes from base on.
func startTaxLoad(h *testHub, tax string, ids []string, base int) *taxLoad {
	l := &taxLoad{stop: make(chan struct{})}
	for w := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-l.stop:
					return
				default:
				}
				id := ids[i%len(ids)]
				var res result
				began := time.Now()
				if i%3 == 0 {
					res = h.query(tax, updateTax, map[string]any{"id": id, "income": base + i})
				} else {
					res = h.query(tax, taxQuery, map[string]any{"id": id})
					if len(res.Errors) == 0 && get(res.Data, "citizen", "tax", "annualIncome", "value") == nil {
						res.Errors = []gqlError{{Message: "no annualIncome value"}}
					}
				}
				if d := int64(time.Since(began)); d > l.slowest.Load() {
					l.slowest.Store(d)
				}
				l.requests.Add(1)
				if len(res.Errors) > 0 {
					l.failures.Add(1)
					l.firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %+v", id, res.Errors))
					continue
				}
				if idx := receiptIndex(res); idx > l.lastIndex.Load() {
					l.lastIndex.Store(idx)
				}
			}
		}()
	}
	return l
}

// finish stops the clients and fails the test if any request failed.
func (l *taxLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if f := l.failures.Load(); f > 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", f, l.requests.Load(), l.firstFailure.Load())
	}
}
