package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
)

// swappable is an httptest handler an operator "restarts" with another configuration, at the
// same address.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }

// The log key is rotated under load on a hub with two witnesses (quorum 2): a rotation without the
// new key prepared is refused; prepared, added to the witnesses, and rotated while clerks read and
// update, no request fails; the old origin ends at a witnessed final checkpoint, the new one
// publishes cosigned checkpoints; every receipt from before still verifies with the first key
// alone, those after with the history (GET /log-keys, checked from the first key and the
// witnesses) and not without it; the whole log verifies; a restarted hub goes on under the new key.
func TestLogKeyRotationUnderLoad(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	wh := startHubWithWitnessesToRestart(t, n, "w1.tax.example", "w2.health.example")
	h, firstKey, wkeys, ws := wh.hub, wh.firstKey, wh.keys, wh.verifiers
	ids := h.citizensWith(n, "tax")
	if len(ids) < 5 {
		t.Fatalf("only %d demo citizens with tax records", len(ids))
	}
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	tax := h.token(taxClerk)
	receiptOf := func(index uint64) string {
		t.Helper()
		h.waitPublished(index + 1)
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", fmt.Sprint(index)}, &out, &errOut); err != nil {
			t.Fatalf("ledger receipt %d = %v (%s)", index, err, errOut.String())
		}
		file := filepath.Join(dir, fmt.Sprintf("r%d.tlog-proof", index))
		if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	checkReceipt := func(file string, extra ...string) error {
		args := append([]string{"ledger", "check-receipt", file, "--log-key", firstKey, "--quorum", "2",
			"--witness-key", wkeys[0], "--witness-key", wkeys[1]}, extra...)
		var out bytes.Buffer
		err := run(t.Context(), args, &out, io.Discard)
		if err == nil && !strings.HasPrefix(out.String(), "OK") {
			err = fmt.Errorf("printed %q", out.String())
		}
		return err
	}
	first := h.query(tax, taxQuery, map[string]any{"id": ids[0]})
	if len(first.Errors) > 0 {
		t.Fatalf("read before the rotation: %+v", first.Errors)
	}
	oldReceipt := receiptOf(receiptIndex(first))

	// Without the new key prepared (and known to the witnesses), the rotation is refused.
	op := h.token(operator)
	var out bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--key", "log", "--data-dir", h.dir, "--hub", srv.URL, "--token", op}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--prepare") {
		t.Fatalf("keys rotate --key log with witnesses, unprepared = %v, want a refusal naming --prepare", err)
	}
	if got := len(h.app.log.Reader().Keys().Eras()); got != 1 {
		t.Fatalf("after a refused rotation the log has %d keys", got)
	}
	out.Reset()
	if err := run(t.Context(), []string{"keys", "rotate", "--key", "log", "--prepare", "--data-dir", h.dir, "--hub", srv.URL, "--token", op}, &out, io.Discard); err != nil {
		t.Fatalf("keys rotate --key log --prepare = %v", err)
	}
	var newKey string
	for _, line := range strings.Split(out.String(), "\n") {
		if k, ok := strings.CutPrefix(line, "next log key made (not yet in use): "); ok {
			newKey = k
		}
	}
	nv, err := note.NewVerifier(newKey)
	if err != nil || nv.Name() != "govhub.test/ledger/2" {
		t.Fatalf("--prepare printed %q (%v), want a verifier key of origin govhub.test/ledger/2", out.String(), err)
	}
	// The witness operators add the new key: the first restarts, the second adds it while it
	// serves (its --log-keys file).
	wh.restartOne(0, firstKey, newKey)
	wh.add(1, newKey)

	// Load: 4 clients reading and updating tax values of random citizens.
	load := startTaxLoad(h, tax, ids, 91000000)
	time.Sleep(300 * time.Millisecond)
	out.Reset()
	began := time.Now()
	err = run(t.Context(), []string{"keys", "rotate", "--key", "log", "--data-dir", h.dir, "--hub", srv.URL, "--token", op}, &out, io.Discard)
	took := time.Since(began)
	time.Sleep(500 * time.Millisecond)
	load.finish(t)
	if err != nil {
		t.Fatalf("keys rotate --key log = %v\n%s", err, out.String())
	}
	t.Logf("%d requests around the rotation (which took %v; the slowest request %v)\n%s", load.requests.Load(), took.Round(time.Millisecond), time.Duration(load.slowest.Load()).Round(time.Millisecond), out.String())
	if !strings.Contains(out.String(), "log key rotated: new key "+newKey) {
		t.Errorf("keys rotate printed:\n%s", out.String())
	}

	// The history, as a verifier gets it: checked from the first key and the witnesses.
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	doc := get("/log-keys")
	fv, _ := note.NewVerifier(firstKey)
	hist, err := ledger.ParseKeys(doc, fv, ws, 2)
	if err != nil {
		t.Fatalf("GET /log-keys does not verify: %v\n%s", err, doc)
	}
	eras := hist.Eras()
	if len(eras) != 2 || eras[1].Key != newKey {
		t.Fatalf("history has %d keys, the second %q", len(eras), eras[len(eras)-1].Key)
	}
	histFile := filepath.Join(dir, "log-keys.json")
	if err := os.WriteFile(histFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if load.lastIndex.Load() < eras[1].Start {
		t.Fatalf("the load's last entry %d is before the new key's start %d: the load did not span the rotation", load.lastIndex.Load(), eras[1].Start)
	}
	h.waitPublished(load.lastIndex.Load() + 1)
	cp, err := hist.ParseCheckpoint(get("/checkpoint"))
	if err != nil || cp.Origin != "govhub.test/ledger/2" {
		t.Fatalf("the published checkpoint: origin %q, %v", cp.Origin, err)
	}
	if err := hist.CheckCosignatures(get("/checkpoint"), ws, 2); err != nil {
		t.Errorf("the new origin's checkpoint is not witnessed: %v", err)
	}

	// Receipts: before, with the first key alone (and with the history); after, with the history
	// only.
	if err := checkReceipt(oldReceipt); err != nil {
		t.Errorf("check-receipt of a receipt from before the rotation, first key alone = %v", err)
	}
	if err := checkReceipt(oldReceipt, "--log-keys", histFile); err != nil {
		t.Errorf("check-receipt of a receipt from before the rotation, with the history = %v", err)
	}
	newReceipt := receiptOf(load.lastIndex.Load())
	if err := checkReceipt(newReceipt, "--log-keys", histFile); err != nil {
		t.Errorf("check-receipt of a receipt from after the rotation, with the history = %v", err)
	}
	if err := checkReceipt(newReceipt); err == nil {
		t.Error("check-receipt of a receipt from after the rotation passed with the first key alone")
	}
	bad := bytes.Replace(doc, []byte(`"start":`), []byte(`"start":1`), 1)
	if err := os.WriteFile(histFile, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkReceipt(newReceipt, "--log-keys", histFile); err == nil {
		t.Error("check-receipt accepted a tampered history")
	}

	// The link entry begins the new origin.
	entries, raws := h.entries()
	rot, link := entries[eras[1].Start-1], entries[eras[1].Start]
	if rot.Kind != ledger.KindRotation || rot.Reason != ledger.ReasonLogKey || link.Reason != ledger.ReasonLogLink {
		t.Errorf("entries %d, %d = %s %s, %s %s; want the rotation and the link", eras[1].Start-1, eras[1].Start, rot.Kind, rot.Reason, link.Kind, link.Reason)
	}
	if root, ok := ledger.IsLink(raws[eras[1].Start]); !ok {
		t.Error("the new origin's first entry is not a link entry")
	} else if final, err := ledger.ParseCheckpoint(eras[1].Final, fv); err != nil || final.Root != root {
		t.Errorf("the link entry names %x, the final checkpoint %x (%v)", root, final.Root, err)
	}

	// Restarted (without witnesses this time), the hub verifies and goes on under the new key.
	h.close()
	var vout bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "verify", "--data-dir", h.dir}, &vout, io.Discard); err != nil {
		t.Fatalf("ledger verify after the rotation = %v\n%s", err, vout.String())
	}
	h.open()
	res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": ids[1]})
	if len(res.Errors) > 0 {
		t.Fatalf("read after a restart: %+v", res.Errors)
	}
	h.waitPublished(receiptIndex(res) + 1)
	var rout bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", fmt.Sprint(receiptIndex(res))}, &rout, io.Discard); err != nil {
		t.Fatalf("ledger receipt after the restart = %v", err)
	}
	// No witnesses now: checked against the hub's own checkpoint, under the history.
	args := []string{"ledger", "check-receipt", writeFile(t, dir, "after.tlog-proof", rout.Bytes()), "--log-key", firstKey, "--log-keys", writeFile(t, dir, "hist2.json", doc)}
	if err := run(t.Context(), args, io.Discard, io.Discard); err != nil {
		t.Errorf("a receipt signed after the restart = %v", err)
	}
	if got := h.app.log.Reader().Keys().Current().Name(); got != "govhub.test/ledger/2" {
		t.Errorf("after a restart the log signs as %s", got)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Two hubs on one database sharing one key directory: the first, which sequences, rotates the log
// key; the second, which forwards its appends, signs their receipts under the new key from the
// rotation on (it reads the key files again when the history changes), and both serve the history.
func TestLogKeyRotationFollowedByAnotherHub(t *testing.T) {
	h1, h2 := twoHubsWith(t, 5, 0, true)
	a1, a2 := h1.app, h2.app
	if !a1.log.Leading() || a2.log.Leading() {
		t.Fatalf("leading: hub 1 %v, hub 2 %v; want hub 1 only", a1.log.Leading(), a2.log.Leading())
	}
	c := h1.findCitizen(5, "identity")
	readOn := func(h *testHub) ledger.Receipt {
		t.Helper()
		res := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`, map[string]any{"id": c.ID})
		if len(res.Errors) > 0 {
			t.Fatalf("read: %+v", res.Errors)
		}
		return h.receiptOf(res)
	}
	before := readOn(h2)
	rot, err := a1.rotateLogKey(t.Context(), operator, false)
	if err != nil {
		t.Fatal(err)
	}
	after := readOn(h2)
	hist1, hist2 := a1.log.Reader().Keys(), a2.log.Reader().Keys()
	if len(hist1.Eras()) != 2 || after.Index <= rot.Start {
		t.Fatalf("hub 1's history has %d keys; hub 2's read is at %d, the new key starts at %d", len(hist1.Eras()), after.Index, rot.Start)
	}
	if err := hist1.CheckReceipt(before); err != nil {
		t.Errorf("hub 2's receipt from before the rotation: %v", err)
	}
	if err := hist1.CheckReceipt(after); err != nil {
		t.Errorf("hub 2's receipt from after the rotation, under hub 1's history: %v", err)
	}
	if len(hist2.Eras()) != 2 || hist2.Current().Name() != "govhub.test/ledger/2" {
		t.Errorf("hub 2 holds %d keys, the newest %s", len(hist2.Eras()), hist2.Current().Name())
	}
}

// witnessedHub is a hub whose witnesses (quorum: all of them) can be restarted with other log keys
// at the same addresses, as their operators would.
type witnessedHub struct {
	hub       *testHub
	firstKey  string           // the hub's first log key
	keys      []string         // the witnesses' cosignature keys
	verifiers []ledger.Witness // the same, parsed
	restart   func(logKeys ...string)
	// restartOne restarts witness i only; add has it follow more logs while it serves (govhub
	// witness --log-keys).
	restartOne func(i int, logKeys ...string)
	add        func(i int, logKeys ...string)
}

// startHubWithWitnessesToRestart starts a hub with the named witnesses, seeded with citizens.
func startHubWithWitnessesToRestart(t *testing.T, citizens int, names ...string) *witnessedHub {
	t.Helper()
	dir := t.TempDir()
	h := &testHub{t: t, dir: filepath.Join(dir, "hub"), gen: demo.NewGenerator(testSeed)}
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	wh := &witnessedHub{hub: h, firstKey: k.log.VerifierKey}
	cfg := h.config()
	type wit struct {
		keyFile, state string
		srv            *swappable
		cur            *atomic.Pointer[witness.Server]
	}
	var wits []wit
	start := func(w wit, logKeys ...string) {
		srv, _, err := newWitness(w.keyFile, logKeys, w.state, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.srv.set(srv)
		w.cur.Store(srv)
	}
	for _, name := range names {
		w := wit{keyFile: filepath.Join(dir, name+".key"), state: filepath.Join(dir, name+"-state"), srv: &swappable{}, cur: &atomic.Pointer[witness.Server]{}}
		var out bytes.Buffer
		if err := run(t.Context(), []string{"keygen", "--name", name, "--out", w.keyFile}, &out, &out); err != nil {
			t.Fatalf("keygen: %v", err)
		}
		start(w, wh.firstKey)
		hs := httptest.NewServer(w.srv)
		t.Cleanup(hs.Close)
		vkey := strings.TrimSpace(out.String())
		cfg.Witnesses = append(cfg.Witnesses, witnessConfig{URL: hs.URL, VerifierKey: vkey})
		v, err := fnote.NewVerifierForCosignatureV1(vkey)
		if err != nil {
			t.Fatal(err)
		}
		wh.keys, wh.verifiers = append(wh.keys, vkey), append(wh.verifiers, v)
		wits = append(wits, w)
	}
	wh.restart = func(logKeys ...string) {
		for _, w := range wits {
			start(w, logKeys...)
		}
	}
	wh.restartOne = func(i int, logKeys ...string) { start(wits[i], logKeys...) }
	wh.add = func(i int, logKeys ...string) {
		if _, err := addLogKeys(wits[i].cur.Load(), logKeys, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg.WitnessQuorum = len(names)
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), a, citizens, testSeed); err != nil {
		t.Fatal(err)
	}
	return wh
}
