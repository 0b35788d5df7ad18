package web_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/ledgertest"
	"github.com/govhub/govhub/store/storetest"
	"github.com/govhub/govhub/web"
	"github.com/govhub/govhub/web/webtest"
)

// The log key history vectors (testdata/log_keys.json): a real ledger.Log on the embedded store,
// witnessed by two ledger/witness servers that follow both origins, whose key was rotated with
// RotateKey between appends. go test ./web -run TestKeyHistoryVectors -update makes them again;
// without -update the test checks the committed file with the Go reference (ledger.ParseKeys and
// the history's checks), and TestKeyHistoryInBrowser checks verify.js on the same file.

const keyVectorsFile = "testdata/log_keys.json"

// keyVectors is the file's layout.
type keyVectors struct {
	// Trust is what a page trusts: the first log key, the witnesses (w1 by its plain key, w2 by
	// its cosignature key) and the quorum.
	Trust trust `json:"trust"`
	// History is the document GET /log-keys served (ledger.Keys.Document).
	History string `json:"history"`
	// Start is the second era's first index; Final the old origin's final checkpoint.
	Start uint64 `json:"start"`
	// NewKey is the second era's verifier key.
	NewKey string `json:"newKey"`
	// Receipts are the receipts Append returned, of both eras, the rotation entry's included.
	Receipts []keyReceipt `json:"receipts"`
	// Checkpoints are checkpoints the log published, of both origins, the final one included.
	Checkpoints []string `json:"checkpoints"`
	// Proofs are the citizen's access proofs: entries of both eras against a checkpoint of the
	// new origin (one with a consistency proof from an old-origin checkpoint), and an old entry
	// against the old origin's final checkpoint.
	Proofs []keyProof `json:"proofs"`
	// Forged are signatures by real keys that the history must refuse: the old key's checkpoint of
	// the newest tree (past its final size), the new key's checkpoint of the final size (before
	// its era), and the old key's receipt of an entry of the new era.
	Forged struct {
		OldCheckpointPastFinal string     `json:"oldCheckpointPastFinal"`
		NewCheckpointAtFinal   string     `json:"newCheckpointAtFinal"`
		OldReceiptOfNewIndex   keyReceipt `json:"oldReceiptOfNewIndex"`
	} `json:"forged"`
}

type keyReceipt struct {
	Index     uint64 `json:"index"`
	LeafHash  string `json:"leafHash"`
	Signature string `json:"signature"`
}

type keyProof struct {
	Input    proofInput `json:"input"`
	Previous string     `json:"previous,omitempty"`
}

func receiptOf(r ledger.Receipt) keyReceipt {
	return keyReceipt{Index: r.Index, LeafHash: base64.StdEncoding.EncodeToString(r.LeafHash[:]), Signature: base64.StdEncoding.EncodeToString(r.Signature)}
}

func (r keyReceipt) receipt(t testing.TB) ledger.Receipt {
	t.Helper()
	leaf, err := base64.StdEncoding.DecodeString(r.LeafHash)
	if err != nil || len(leaf) != 32 {
		t.Fatalf("receipt %d: leaf hash %q", r.Index, r.LeafHash)
	}
	sig, err := base64.StdEncoding.DecodeString(r.Signature)
	if err != nil {
		t.Fatalf("receipt %d: %v", r.Index, err)
	}
	return ledger.Receipt{Index: r.Index, LeafHash: tlog.Hash(leaf), Signature: sig}
}

// accessEntry is the i-th access entry of the rotated log; the citizen is a subject when salt is
// not nil.
func accessEntry(i int, salt []byte, citizen string) ledger.Entry {
	subjects := [][]byte{seeded(fmt.Sprintf("someone else %d", i))}
	if salt != nil {
		subjects = append(subjects, commitment(salt, citizen))
	}
	return ledger.Entry{
		Version: 2, Kind: ledger.KindAccess, Time: time.Date(2026, 12, 6, 9, 0, i, 0, time.UTC),
		Department: "housing", Role: "clerk", Official: seeded(fmt.Sprintf("official %d", i%3)),
		Purpose: "home-purchase-eligibility", Policy: 3, Request: seeded(fmt.Sprintf("request %d", i)),
		Outcome: ledger.OutcomeAllowed, Subjects: subjects,
		Fields: []ledger.Field{{Name: "identity.name", Level: "reveal"}, {Name: "health.bloodType", Level: "deny"}},
	}
}

// makeKeyVectors builds a real rotated log and returns its vectors.
func makeKeyVectors(t *testing.T) keyVectors {
	ctx := t.Context()
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.example/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.example/ledger/2")
	w1, w2 := ledgertest.StartWitness(t, "witness.tax.example/w1", v1, v2), ledgertest.StartWitness(t, "witness.health.example/w2", v1, v2)
	c1, plain1, c2, cosig2 := w1.Client, w1.PlainKey, w2.Client, w2.VKey
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(ctx, ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first},
		ledger.WithIntegrationInterval(5*time.Millisecond), ledger.WithWitnesses([]ledger.Cosigner{c1, c2}, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())

	const citizen = "C000042"
	salts := map[uint64][]byte{}
	entries := map[uint64][]byte{}
	var v keyVectors
	v.Trust = trust{LogKey: vkey1, WitnessKeys: []string{plain1, cosig2}, Quorum: 2}
	add := func(i int, mine bool) ledger.Receipt {
		var salt []byte
		if mine {
			salt = seeded(fmt.Sprintf("salt %d", i))
		}
		e := accessEntry(i, salt, citizen)
		r, err := l.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		data, err := ledger.FormatEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		entries[r.Index], salts[r.Index] = data, salt
		v.Receipts = append(v.Receipts, receiptOf(r))
		return r
	}
	for i := range 5 {
		add(i, i%2 == 1)
	}
	cpOld, err := l.WaitCheckpoint(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	rot := ledger.Entry{Kind: ledger.KindRotation, Time: time.Date(2026, 12, 6, 9, 1, 0, 0, time.UTC), Department: "operations",
		Role: "operator", Policy: 3, Outcome: ledger.OutcomeAllowed, Reason: ledger.ReasonLogKey, Record: ledger.LogKeyDigest(vkey2)}
	rr, era, err := l.RotateKey(ctx, rot, s2, vkey2, func(ledger.Era) error { return nil })
	if err != nil {
		t.Fatalf("RotateKey = %v", err)
	}
	v.Receipts = append(v.Receipts, receiptOf(rr))
	v.Start, v.NewKey = era.Start, vkey2
	var last ledger.Receipt
	for i := 5; i < 9; i++ {
		last = add(i, i%2 == 1)
	}
	cpNew, err := l.WaitCheckpoint(ctx, last.Index+1)
	if err != nil {
		t.Fatal(err)
	}
	if cpNew.Origin != v2.Name() {
		t.Fatalf("the newest checkpoint's origin is %s, want %s", cpNew.Origin, v2.Name())
	}
	final, err := ledger.ParseCheckpoint(era.Final, v1)
	if err != nil {
		t.Fatal(err)
	}
	v.History = string(l.Reader().Keys().Document())
	v.Checkpoints = []string{string(cpOld.Note), string(era.Final), string(cpNew.Note)}

	proof := func(index uint64, cp ledger.Checkpoint, previous *ledger.Checkpoint) keyProof {
		hs, err := l.Reader().ProveInclusion(ctx, index, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		p := keyProof{Input: proofInput{Entry: string(entries[index]), Salt: hex.EncodeToString(salts[index]), CitizenID: citizen,
			Index: index, Proof: b64s(hs), Checkpoint: string(cp.Note)}}
		if previous != nil {
			cons, err := l.Reader().ProveConsistency(ctx, previous.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			p.Input.Consistency, p.Previous = b64s(cons), string(previous.Note)
		}
		return p
	}
	for _, index := range slices.Sorted(maps.Keys(salts)) {
		if salts[index] == nil {
			continue
		}
		if index < era.Start {
			v.Proofs = append(v.Proofs, proof(index, final, nil), proof(index, cpNew, &cpOld))
		} else {
			v.Proofs = append(v.Proofs, proof(index, cpNew, &final))
		}
	}

	// Real signatures the history must refuse.
	old, err := ledger.SignCheckpoint(s1, cpNew.Size, cpNew.Root)
	if err != nil {
		t.Fatal(err)
	}
	early, err := ledger.SignCheckpoint(s2, final.Size, final.Root)
	if err != nil {
		t.Fatal(err)
	}
	v.Forged.OldCheckpointPastFinal, v.Forged.NewCheckpointAtFinal = string(old.Note), string(early.Note)
	leaf := ledger.LeafHash(entries[last.Index])
	text := "govhub/receipt/v1\n" + s1.Name() + "\n" + strconv.FormatUint(last.Index, 10) + "\n" + base64.StdEncoding.EncodeToString(leaf[:]) + "\n"
	sig, err := s1.Sign([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	v.Forged.OldReceiptOfNewIndex = receiptOf(ledger.Receipt{Index: last.Index, LeafHash: leaf, Signature: append(binary.BigEndian.AppendUint32(nil, s1.KeyHash()), sig...)})
	return v
}

func readKeyVectors(t *testing.T) keyVectors {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(keyVectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var v keyVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", keyVectorsFile, err)
	}
	if len(v.Receipts) == 0 || len(v.Checkpoints) == 0 || len(v.Proofs) == 0 {
		t.Fatalf("%s holds no vectors", keyVectorsFile)
	}
	return v
}

// tamperedHistories are the histories of v changed as an attacker (or a broken hub) would, each
// of which a verifier trusting v.Trust must refuse.
func tamperedHistories(t *testing.T, v keyVectors) map[string]string {
	t.Helper()
	_, _, another := ledgertest.NoteKey(t, "govhub.example/ledger")
	_, _, third := ledgertest.NoteKey(t, "govhub.example/ledger/3")
	change := func(f func(eras []map[string]any)) string {
		var d struct {
			Eras []map[string]any `json:"eras"`
		}
		if err := json.Unmarshal([]byte(v.History), &d); err != nil {
			t.Fatal(err)
		}
		f(d.Eras)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Another rotation entry: the same kind and reason, naming the same new key, but not the one
	// the final checkpoint includes (its time differs).
	other := ledger.Entry{Kind: ledger.KindRotation, Time: time.Date(2026, 12, 6, 9, 2, 0, 0, time.UTC), Department: "operations",
		Role: "operator", Policy: 3, Outcome: ledger.OutcomeAllowed, Reason: ledger.ReasonLogKey, Record: ledger.LogKeyDigest(v.NewKey)}
	otherData, err := ledger.FormatEntry(other)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"another first key":    change(func(e []map[string]any) { e[0]["key"] = another }),
		"the second key first": change(func(e []map[string]any) { e[0]["key"] = e[1]["key"] }),
		"a changed start":      change(func(e []map[string]any) { e[1]["start"] = e[1]["start"].(float64) + 1 }),
		"an earlier start":     change(func(e []map[string]any) { e[1]["start"] = e[1]["start"].(float64) - 1 }),
		"a missing proof":      change(func(e []map[string]any) { delete(e[1], "proof") }),
		"a proof hash flipped": change(func(e []map[string]any) { p := e[1]["proof"].([]any); p[0] = flipB64(t, p[0].(string), 0) }),
		"a replaced rotation":  change(func(e []map[string]any) { e[1]["rotation"] = base64.StdEncoding.EncodeToString(otherData) }),
		"no rotation entry":    change(func(e []map[string]any) { delete(e[1], "rotation") }),
		"a missing final":      change(func(e []map[string]any) { delete(e[1], "final") }),
		"another new key":      change(func(e []map[string]any) { e[1]["key"] = third }),
		"final not witnessed": change(func(e []map[string]any) {
			e[1]["final"] = dropSig(t, e[1]["final"].(string), "witness.health.example/w2")
		}),
		"final signature flipped": change(func(e []map[string]any) {
			e[1]["final"] = flipSig(t, e[1]["final"].(string), "govhub.example/ledger", 10)
		}),
		"the first era with proof": change(func(e []map[string]any) { e[0]["proof"] = e[1]["proof"] }),
		"an unknown field":         change(func(e []map[string]any) { e[1]["note"] = "trust me" }),
		"the old origin again":     change(func(e []map[string]any) { e[1]["key"] = e[0]["key"] }),
	}
}

// TestKeyHistoryVectors checks testdata/log_keys.json with the Go reference: ParseKeys accepts the
// history from the first key, every receipt and checkpoint verifies under it (and under the key of
// its era alone), every proof verifies, and the forged signatures and tampered histories are
// refused. -update builds a rotated log and writes the file again.
func TestKeyHistoryVectors(t *testing.T) {
	if *update {
		data, err := json.MarshalIndent(makeKeyVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(keyVectorsFile), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v := readKeyVectors(t)
	v1, err := note.NewVerifier(v.Trust.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := note.NewVerifier(v.NewKey)
	if err != nil {
		t.Fatal(err)
	}
	var ws []ledger.Witness
	for _, k := range v.Trust.WitnessKeys {
		w, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	keys, err := ledger.ParseKeys([]byte(v.History), v1, ws, v.Trust.Quorum)
	if err != nil {
		t.Fatalf("ParseKeys = %v", err)
	}
	if eras := keys.Eras(); len(eras) != 2 || eras[1].Start != v.Start || eras[1].Key != v.NewKey {
		t.Fatalf("ParseKeys: %d eras, want 2, the second from %d", len(eras), v.Start)
	}
	var before, after int
	for _, kr := range v.Receipts {
		r := kr.receipt(t)
		if err := keys.CheckReceipt(r); err != nil {
			t.Errorf("receipt %d: %v", r.Index, err)
		}
		era := v1
		if r.Index >= v.Start {
			era, after = v2, after+1
		} else {
			before++
		}
		if err := ledger.CheckReceipt(era, r); err != nil {
			t.Errorf("receipt %d is not its era's key's: %v", r.Index, err)
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d receipts before the rotation and %d after, want both", before, after)
	}
	for _, c := range v.Checkpoints {
		if _, err := keys.ParseCheckpoint([]byte(c)); err != nil {
			t.Errorf("checkpoint %q: %v", c, err)
		}
		if err := keys.CheckCosignatures([]byte(c), ws, v.Trust.Quorum); err != nil {
			t.Errorf("checkpoint %q: %v", c, err)
		}
	}
	for _, p := range v.Proofs {
		var hs []tlog.Hash
		for _, h := range p.Input.Proof {
			b, _ := base64.StdEncoding.DecodeString(h)
			hs = append(hs, tlog.Hash(b))
		}
		index := uint64(p.Input.Index.(float64))
		if _, err := keys.CheckProof(ledger.Proof{Index: index, Hashes: hs, Checkpoint: []byte(p.Input.Checkpoint)},
			ledger.LeafHash([]byte(p.Input.Entry)), ws, v.Trust.Quorum); err != nil {
			t.Errorf("proof of %d: %v", index, err)
		}
	}
	// The forgeries are real signatures by the keys, refused for their era only.
	if _, err := ledger.ParseCheckpoint([]byte(v.Forged.OldCheckpointPastFinal), v1); err != nil {
		t.Fatalf("the old key's checkpoint past the final size is not the old key's: %v", err)
	}
	if _, err := keys.ParseCheckpoint([]byte(v.Forged.OldCheckpointPastFinal)); err == nil {
		t.Error("the history accepted the old key's checkpoint past its final size")
	}
	if _, err := keys.ParseCheckpoint([]byte(v.Forged.NewCheckpointAtFinal)); err == nil {
		t.Error("the history accepted the new key's checkpoint of the final size")
	}
	forged := v.Forged.OldReceiptOfNewIndex.receipt(t)
	if err := ledger.CheckReceipt(v1, forged); err != nil {
		t.Fatalf("the old key's receipt of a new index is not the old key's: %v", err)
	}
	if err := keys.CheckReceipt(forged); err == nil {
		t.Error("the history accepted the old key's receipt of an entry of the new era")
	}
	for name, doc := range tamperedHistories(t, v) {
		if _, err := ledger.ParseKeys([]byte(doc), v1, ws, v.Trust.Quorum); err == nil {
			t.Errorf("%s: ParseKeys accepted the history", name)
		}
	}
	if _, err := ledger.ParseKeys([]byte(v.History), v2, ws, v.Trust.Quorum); err == nil {
		t.Error("ParseKeys accepted the history trusting the second key")
	}
}

// keysPage is page with GET /log-keys answering what serve holds: a status and a body.
func keysPage(t *testing.T, serve *atomic.Pointer[keysAnswer]) context.Context {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	mux.HandleFunc("/log-keys", func(w http.ResponseWriter, r *http.Request) {
		a := serve.Load()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	bctx := browser.Tab(t, "web")
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("loading the test page in Chromium: %v", err)
	}
	webtest.WaitFor(t, bctx, `window.verifyjs !== undefined`, 30*time.Second, "the test page to load verify.js")
	return bctx
}

type keysAnswer struct {
	status int
	body   string
}

// TestKeyHistoryInBrowser checks verify.js, in Chromium, on testdata/log_keys.json: it accepts the
// history from the trusted first key, every receipt, checkpoint and access proof of both eras
// under it, and refuses the tampered histories, the old key's checkpoint past its final size, the
// new key's checkpoint of the final size and the old key's receipt of an entry of the new era.
func TestKeyHistoryInBrowser(t *testing.T) {
	v := readKeyVectors(t)
	tampered := tamperedHistories(t, v)
	names := slices.Sorted(maps.Keys(tampered))
	var docs []string
	for _, n := range names {
		docs = append(docs, tampered[n])
	}
	var serve atomic.Pointer[keysAnswer]
	serve.Store(&keysAnswer{200, v.History})
	ctx := keysPage(t, &serve)

	type outcome struct {
		Eras        []map[string]any
		Receipts    []string // "" for a receipt that verifies, else "step: message"
		OldKeyOnly  []string // the receipts under the first key alone
		Checkpoints []string
		Proofs      []string
		NoHistory   []string // the proofs under the first key alone
		Forged      []string
		Tampered    []string
		Misuse      []string
	}
	var got outcome
	eval(t, ctx, `(async () => {
		const v = window.verifyjs, vec = `+mustJSON(t, v)+`, tampered = `+mustJSON(t, docs)+`;
		const tr = vec.trust;
		const run = async (f) => { try { await f(); return ''; } catch (e) { return (e.step || 'thrown') + ': ' + e.message; } };
		const res = (r) => r.ok ? '' : r.step + ': ' + r.message;
		const out = {Receipts: [], OldKeyOnly: [], Checkpoints: [], Proofs: [], NoHistory: [], Forged: [], Tampered: [], Misuse: []};
		const h = await v.verifyKeyHistory(vec.history, tr);
		out.Eras = h.eras.map((e) => ({key: e.key, origin: e.origin, start: String(e.start), next: e.next === null ? null : String(e.next)}));
		for (const r of vec.receipts) {
			out.Receipts.push(await run(() => v.verifyReceipt(r, h)));
			out.OldKeyOnly.push(await run(() => v.verifyReceipt(r, tr.logKey)));
		}
		for (const c of vec.checkpoints) out.Checkpoints.push(await run(() => v.verifyCheckpoint(c, h, tr.witnessKeys, tr.quorum)));
		for (const p of vec.proofs) {
			out.Proofs.push(res(await v.verifyAccessProof(p.input, {...tr, logKeys: h, previous: p.previous})));
			out.NoHistory.push(res(await v.verifyAccessProof(p.input, {...tr, previous: p.previous})));
		}
		out.Forged.push(await run(() => v.verifyCheckpoint(vec.forged.oldCheckpointPastFinal, h, tr.witnessKeys, 0)));
		out.Forged.push(await run(() => v.verifyCheckpoint(vec.forged.newCheckpointAtFinal, h, tr.witnessKeys, 0)));
		out.Forged.push(await run(() => v.verifyReceipt(vec.forged.oldReceiptOfNewIndex, h)));
		for (const d of tampered) out.Tampered.push(await run(() => v.verifyKeyHistory(d, tr)));
		// Misuse: trusting the second key, a history object not made by verifyKeyHistory, a history
		// beside another trusted log key, a quorum the witnesses cannot meet.
		out.Misuse.push(await run(() => v.verifyKeyHistory(vec.history, {...tr, logKey: vec.newKey})));
		out.Misuse.push(await run(() => v.verifyCheckpoint(vec.checkpoints[2], {eras: h.eras}, tr.witnessKeys, tr.quorum)));
		out.Misuse.push(res(await v.verifyAccessProof(vec.proofs[0].input, {...tr, logKey: vec.newKey, logKeys: h})));
		out.Misuse.push(await run(() => v.verifyKeyHistory(vec.history, {...tr, quorum: 3})));
		return out;
	})()`, &got)

	if len(got.Eras) != 2 || got.Eras[0]["key"] != v.Trust.LogKey || got.Eras[0]["start"] != "0" ||
		got.Eras[1]["key"] != v.NewKey || got.Eras[1]["start"] != strconv.FormatUint(v.Start, 10) ||
		got.Eras[0]["next"] != got.Eras[1]["start"] || got.Eras[1]["next"] != nil {
		t.Errorf("verifyKeyHistory eras = %v, want the first key from 0 and %s from %d", got.Eras, v.NewKey, v.Start)
	}
	for i, r := range v.Receipts {
		if got.Receipts[i] != "" {
			t.Errorf("verifyReceipt(receipt %d, history) = %s, want ok", r.Index, got.Receipts[i])
		}
		if old := got.OldKeyOnly[i]; (r.Index < v.Start) != (old == "") {
			t.Errorf("verifyReceipt(receipt %d, the first key alone) = %q, want ok only before %d", r.Index, old, v.Start)
		}
	}
	for i, c := range v.Checkpoints {
		if got.Checkpoints[i] != "" {
			t.Errorf("verifyCheckpoint(%q, history) = %s, want ok", c, got.Checkpoints[i])
		}
	}
	for i, p := range v.Proofs {
		if got.Proofs[i] != "" {
			t.Errorf("verifyAccessProof(entry %v, history) = %s, want ok", p.Input.Index, got.Proofs[i])
		}
		// Without the history only proofs against the old origin verify.
		oldOrigin := strings.HasPrefix(p.Input.Checkpoint, "govhub.example/ledger\n")
		if (got.NoHistory[i] == "") != oldOrigin || (!oldOrigin && !strings.HasPrefix(got.NoHistory[i], "signature: ")) {
			t.Errorf("verifyAccessProof(entry %v against %q, the first key alone) = %q", p.Input.Index, strings.SplitN(p.Input.Checkpoint, "\n", 2)[0], got.NoHistory[i])
		}
	}
	for i, what := range []string{"the old key's checkpoint past its final size", "the new key's checkpoint of the final size", "the old key's receipt of an entry of the new era"} {
		if !strings.HasPrefix(got.Forged[i], "signature: ") {
			t.Errorf("%s: %q, want refused at signature", what, got.Forged[i])
		} else {
			t.Logf("%s: %s", what, got.Forged[i])
		}
	}
	for i, n := range names {
		if !strings.HasPrefix(got.Tampered[i], "keys: ") {
			t.Errorf("verifyKeyHistory(%s) = %q, want refused at keys", n, got.Tampered[i])
		} else {
			t.Logf("%s: %s", n, got.Tampered[i])
		}
	}
	for i, want := range []string{"keys: ", "input: ", "input: ", "input: "} {
		if !strings.HasPrefix(got.Misuse[i], want) {
			t.Errorf("misuse %d = %q, want refused at %s", i, got.Misuse[i], want)
		}
	}

	// fetchKeyHistory: what the portal and the certificate page do with GET /log-keys.
	first, err := note.NewVerifier(v.Trust.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		answer keysAnswer
		want   string // the number of eras, or the step of the refusal
	}{
		{"the rotated history", keysAnswer{200, v.History}, "2"},
		{"a history of the first key", keysAnswer{200, `{"eras":[{"key":"` + v.Trust.LogKey + `"}]}`}, "1"},
		{"a log that never rotated (ledger.SingleKey)", keysAnswer{200, string(ledger.SingleKey(first).Document())}, "1"},
		{"no history published", keysAnswer{404, "404 page not found"}, "1"},
		{"a tampered history", keysAnswer{200, tampered["a changed start"]}, "keys"},
		{"another first key alone", keysAnswer{200, `{"eras":[{"key":"` + v.NewKey + `"}]}`}, "keys"},
		{"not JSON", keysAnswer{200, "<html>"}, "keys"},
		{"a server error", keysAnswer{500, "storage error"}, "keys"},
	} {
		serve.Store(&c.answer)
		var res string
		eval(t, ctx, `(async () => {
			try { return String((await window.verifyjs.fetchKeyHistory(`+mustJSON(t, v.Trust)+`)).eras.length); }
			catch (e) { return e.step; }
		})()`, &res)
		if res != c.want {
			t.Errorf("fetchKeyHistory(%s) = %s, want %s", c.name, res, c.want)
		}
	}
}

// A page open while the log key rotates, against a real log's read API (ledger.Reader.Handler
// serving /checkpoint and /log-keys): before the rotation the history has one era; after it,
// the new origin's checkpoint fails under that history, and the history fetched again verifies it,
// with every receipt of both eras and the citizen's old entry proved in the new tree, consistent
// with the checkpoint the page verified before the rotation.
func TestKeyHistoryLiveInBrowser(t *testing.T) {
	ctx := t.Context()
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.example/ledger")
	s2, _, vkey2 := ledgertest.NoteKey(t, "govhub.example/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(ctx, ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	mux.Handle("GET /checkpoint", l.Reader().Handler())
	mux.Handle("GET /log-keys", l.Reader().Handler())
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	bctx := browser.Tab(t, "web")
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	webtest.WaitFor(t, bctx, `window.verifyjs !== undefined`, 30*time.Second, "the test page to load verify.js")

	const citizen = "C000007"
	salt := seeded("live salt")
	var receipts []keyReceipt
	entries := map[uint64][]byte{}
	add := func(i int, s []byte) ledger.Receipt {
		e := accessEntry(i, s, citizen)
		r, err := l.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		entries[r.Index], _ = ledger.FormatEntry(e)
		receipts = append(receipts, receiptOf(r))
		return r
	}
	add(0, nil)
	mine := add(1, salt)
	last := add(2, nil)
	before, err := l.WaitCheckpoint(ctx, last.Index+1)
	if err != nil {
		t.Fatal(err)
	}
	tr := trust{LogKey: vkey1, WitnessKeys: []string{}}
	var step1 struct {
		Eras    int
		Error   string
		Size    string
		Receipt string
	}
	eval(t, bctx, `(async () => {
		const v = window.verifyjs;
		try {
			window.history1 = await v.fetchKeyHistory(`+mustJSON(t, tr)+`);
			window.previous = await (await fetch('/checkpoint', {cache: 'no-store'})).text();
			const cp = await v.verifyCheckpoint(window.previous, window.history1);
			await v.verifyReceipt(`+mustJSON(t, receipts[1])+`, window.history1);
			return {Eras: window.history1.eras.length, Size: String(cp.size)};
		} catch (e) { return {Error: e.step + ': ' + e.message}; }
	})()`, &step1)
	if step1.Error != "" || step1.Eras != 1 || step1.Size != strconv.FormatUint(before.Size, 10) {
		t.Fatalf("before the rotation: %+v, want one era and the checkpoint of size %d", step1, before.Size)
	}

	rot := ledger.Entry{Kind: ledger.KindRotation, Time: time.Now().UTC().Truncate(time.Millisecond), Department: "operations",
		Role: "operator", Policy: 3, Outcome: ledger.OutcomeAllowed, Reason: ledger.ReasonLogKey, Record: ledger.LogKeyDigest(vkey2)}
	rr, era, err := l.RotateKey(ctx, rot, s2, vkey2, func(ledger.Era) error { return nil })
	if err != nil {
		t.Fatalf("RotateKey = %v", err)
	}
	receipts = append(receipts, receiptOf(rr))
	for i := 3; i < 6; i++ {
		last = add(i, nil)
	}
	after, err := l.WaitCheckpoint(ctx, last.Index+1)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := l.Reader().ProveInclusion(ctx, mine.Index, after.Size)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := l.Reader().ProveConsistency(ctx, before.Size, after.Size)
	if err != nil {
		t.Fatal(err)
	}
	proof := proofInput{Entry: string(entries[mine.Index]), Salt: hex.EncodeToString(salt), CitizenID: citizen, Index: mine.Index,
		Proof: b64s(hs), Checkpoint: string(after.Note), Consistency: b64s(cons)}
	var step2 struct {
		Stale    string
		Eras     []string
		Served   string
		Receipts []string
		Proof    string
	}
	eval(t, bctx, `(async () => {
		const v = window.verifyjs, out = {Receipts: []};
		const run = async (f) => { try { await f(); return ''; } catch (e) { return e.step + ': ' + e.message; } };
		const latest = await (await fetch('/checkpoint', {cache: 'no-store'})).text();
		out.Stale = await run(() => v.verifyCheckpoint(latest, window.history1));
		const h = await v.fetchKeyHistory(`+mustJSON(t, tr)+`);
		out.Eras = h.eras.map((e) => e.origin + ' ' + e.start);
		out.Served = await run(() => v.verifyCheckpoint(latest, h));
		for (const r of `+mustJSON(t, receipts)+`) out.Receipts.push(await run(() => v.verifyReceipt(r, h)));
		const r = await v.verifyAccessProof(`+mustJSON(t, proof)+`, {logKey: `+mustJSON(t, vkey1)+`, logKeys: h, previous: window.previous});
		out.Proof = r.ok ? '' : r.step + ': ' + r.message;
		return out;
	})()`, &step2)
	if !strings.HasPrefix(step2.Stale, "signature: ") {
		t.Errorf("the new origin's checkpoint under the history fetched before the rotation = %q, want refused at signature", step2.Stale)
	}
	if want := []string{v1.Name() + " 0", "govhub.example/ledger/2 " + strconv.FormatUint(era.Start, 10)}; !slices.Equal(step2.Eras, want) {
		t.Errorf("the history fetched after the rotation = %v, want %v", step2.Eras, want)
	}
	if step2.Served != "" {
		t.Errorf("the served checkpoint under the new history: %s", step2.Served)
	}
	for i, r := range receipts {
		if step2.Receipts[i] != "" {
			t.Errorf("receipt %d: %s", r.Index, step2.Receipts[i])
		}
	}
	if step2.Proof != "" {
		t.Errorf("the citizen's old entry in the new tree, consistent with the checkpoint seen before: %s", step2.Proof)
	}
}
