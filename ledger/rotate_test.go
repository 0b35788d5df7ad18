package ledger_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/ledgertest"
	"github.com/govhub/govhub/store/storetest"
)

// The log key rotates while appends go on: none fails; the old origin ends with the rotation
// entry in a witnessed final checkpoint; the new origin begins with the link entry naming that
// checkpoint's root; every receipt verifies under the history, which a verifier trusting only the
// first key accepts; a restart with the stored history goes on under the new key.
func TestRotateKeyUnderLoad(t *testing.T) {
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	w1, w2 := startWitnessOf(t, "w1.example", v1, v2), startWitnessOf(t, "w2.example", v1, v2)
	ws := []ledger.Witness{w1.verifier, w2.verifier}
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first},
		ledger.WithIntegrationInterval(5*time.Millisecond), ledger.WithWitnesses(cosigners(w1, w2), 2))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())

	var (
		mu       sync.Mutex
		receipts []ledger.Receipt
		stop     atomic.Bool
		wg       sync.WaitGroup
		failed   atomic.Int64
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				r, err := l.Append(t.Context(), entry(g*100000+i))
				if err != nil {
					failed.Add(1)
					t.Errorf("Append during the rotation = %v", err)
					return
				}
				mu.Lock()
				receipts = append(receipts, r)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	var stored ledger.Era
	r, era, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(e ledger.Era) error {
		stored = e
		return nil
	})
	if err != nil {
		t.Fatalf("RotateKey = %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	if era.Start != r.Index+1 || stored.Start != era.Start {
		t.Fatalf("era starts at %d (stored %d), rotation entry at %d", era.Start, stored.Start, r.Index)
	}
	keys := l.Reader().Keys()
	if err := keys.CheckReceipt(r); err != nil || ledger.CheckReceipt(v1, r) != nil {
		t.Errorf("the rotation entry's receipt is the old key's: %v", err)
	}
	var before, after int
	for _, rc := range receipts {
		if err := keys.CheckReceipt(rc); err != nil {
			t.Fatalf("receipt %d: %v", rc.Index, err)
		}
		if rc.Index < era.Start {
			before++
			if ledger.CheckReceipt(v1, rc) != nil {
				t.Errorf("receipt %d (before the rotation) not by the old key", rc.Index)
			}
		} else {
			after++
			if ledger.CheckReceipt(v2, rc) != nil {
				t.Errorf("receipt %d (after the rotation) not by the new key", rc.Index)
			}
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d receipts before the rotation, %d after: the load did not span it", before, after)
	}

	// The final checkpoint of the old origin, witnessed, and the link entry after it.
	final, err := ledger.ParseCheckpoint(era.Final, v1)
	if err != nil || final.Size != era.Start {
		t.Fatalf("final checkpoint: size %d, %v", final.Size, err)
	}
	if err := ledger.CheckCosignatures(era.Final, v1, ws, 2); err != nil {
		t.Errorf("final checkpoint not witnessed: %v", err)
	}
	cp, err := l.WaitCheckpoint(t.Context(), uint64(len(receipts))+2)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != v2.Name() {
		t.Errorf("latest checkpoint's origin = %q, want the new %q", cp.Origin, v2.Name())
	}
	if err := keys.CheckCosignatures(cp.Note, ws, 2); err != nil {
		t.Errorf("new origin's checkpoint: %v", err)
	}
	link, err := l.Reader().Entry(t.Context(), era.Start)
	if err != nil {
		t.Fatal(err)
	}
	if root, ok := ledger.IsLink(link); !ok || root != final.Root {
		t.Errorf("entry %d is not the link to the final checkpoint: %q", era.Start, link)
	}
	if _, err := keys.ParseCheckpoint(era.Final); err != nil {
		t.Errorf("the final checkpoint under the history: %v", err)
	}

	// A verifier trusting only the first key learns the second from the published history.
	doc := keys.Document()
	got, err := ledger.ParseKeys(doc, v1, ws, 2)
	if err != nil {
		t.Fatalf("ParseKeys = %v", err)
	}
	if got.Current().Name() != v2.Name() {
		t.Errorf("ParseKeys: current key %s", got.Current().Name())
	}
	for _, rc := range receipts {
		if err := got.CheckReceipt(rc); err != nil {
			t.Fatalf("receipt %d under the parsed history: %v", rc.Index, err)
		}
	}
	// An old-key checkpoint beyond the handover is refused, even though the old key signed it.
	forged, err := ledger.SignCheckpoint(s1, cp.Size, cp.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.ParseCheckpoint(forged.Note); err == nil {
		t.Error("a checkpoint of the old origin past its final size was accepted")
	}
	// A receipt of the new era signed by the old key is refused.
	// (made as ledger.Receipt specifies, by the old key, for an index of the new era)
	var leaf tlog.Hash
	text := fmt.Sprintf("govhub/receipt/v1\n%s\n%d\n%s\n", v1.Name(), era.Start+1, base64.StdEncoding.EncodeToString(leaf[:]))
	sig, err := s1.Sign([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	bad := ledger.Receipt{Index: era.Start + 1, LeafHash: leaf, Signature: append(binary.BigEndian.AppendUint32(nil, s1.KeyHash()), sig...)}
	if ledger.CheckReceipt(v1, bad) != nil {
		t.Fatal("the forged receipt is not even the old key's")
	}
	if got.CheckReceipt(bad) == nil {
		t.Error("an old-key receipt for an entry of the new era was accepted")
	}
	_, _, vkey3 := ledgertest.NoteKey(t, "govhub.test/ledger/3")
	for name, tamper := range map[string]func(m map[string]any){
		"another first key": func(m map[string]any) {
			m["eras"].([]any)[0].(map[string]any)["key"] = m["eras"].([]any)[1].(map[string]any)["key"]
		},
		"another start": func(m map[string]any) {
			e := m["eras"].([]any)[1].(map[string]any)
			e["start"] = e["start"].(float64) + 1
		},
		"no proof":        func(m map[string]any) { delete(m["eras"].([]any)[1].(map[string]any), "proof") },
		"no final":        func(m map[string]any) { delete(m["eras"].([]any)[1].(map[string]any), "final") },
		"another new key": func(m map[string]any) { m["eras"].([]any)[1].(map[string]any)["key"] = vkey3 },
		"rotation replaced": func(m map[string]any) {
			m["eras"].([]any)[1].(map[string]any)["rotation"] = []byte("govhub/entry/v2\n")
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		tamper(m)
		bad, _ := json.Marshal(m)
		if _, err := ledger.ParseKeys(bad, v1, ws, 2); err == nil {
			t.Errorf("%s: ParseKeys accepted the tampered history", name)
		}
	}
	if _, err := ledger.ParseKeys(doc, v2, nil, 0); err == nil {
		t.Error("ParseKeys trusted a history whose first key is not the trusted one")
	}

	// The whole log verifies under the history, not under the first key alone.
	if _, err := ledger.Verify(t.Context(), env.Store, v1, ledger.WithKeys(keys)); err != nil {
		t.Errorf("Verify with the history = %v", err)
	}
	if _, err := ledger.Verify(t.Context(), env.Store, v1); err == nil {
		t.Error("Verify under the old key alone passed a log of two origins")
	}
	// A history that does not match the log's handover (its start one entry late) is refused.
	shifted := era
	shifted.Start++
	shifted.Verifier = nil
	if late, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}, shifted}); err != nil {
		t.Fatal(err)
	} else if _, err := ledger.Verify(t.Context(), env.Store, v1, ledger.WithKeys(late)); err == nil {
		t.Error("Verify passed under a history whose handover is not where the log has it")
	}

	// Restarted: with the stored history and the new key it goes on; with the old key alone it
	// refuses to open.
	l.Shutdown(t.Context())
	if _, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1}); err == nil {
		t.Error("the log opened under the old key alone")
	}
	stored.Verifier = nil
	hist, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}, stored})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s2, Verifier: v2, Keys: hist},
		ledger.WithIntegrationInterval(5*time.Millisecond), ledger.WithWitnesses(cosigners(w1, w2), 2))
	if err != nil {
		t.Fatalf("reopening with the history = %v", err)
	}
	defer l2.Shutdown(context.Background())
	r2, err := l2.Append(t.Context(), entry(7))
	if err != nil || ledger.CheckReceipt(v2, r2) != nil {
		t.Fatalf("append after restart: %v", err)
	}
	if _, err := l2.WaitCheckpoint(t.Context(), r2.Index+1); err != nil {
		t.Fatal(err)
	}
}

// A rotation whose new era cannot be stored leaves the log on the old key, taking appends.
func TestRotateKeyPersistFails(t *testing.T) {
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, _, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	// Without the key history's texts, no rotation.
	bare := openLog(t, env, s1, v1)
	if _, _, err := bare.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { return nil }); err == nil || !strings.Contains(err.Error(), "Config.Keys") {
		t.Errorf("RotateKey of a log opened without Config.Keys = %v", err)
	}
	bare.Shutdown(t.Context())
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	appendN(t, l, 20)
	stored := false
	_, _, err = l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { stored = true; return errors.New("disk full") })
	if err == nil || !stored || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("RotateKey whose era could not be stored = %v (persist called: %v)", err, stored)
	}
	r, err := l.Append(t.Context(), entry(1))
	if err != nil || ledger.CheckReceipt(v1, r) != nil {
		t.Fatalf("after a failed rotation, Append = %v (want a receipt under the old key)", err)
	}
	// The origin of the new key may not be reused by an old one, and the entry must name the key.
	if _, _, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey1), s1, vkey1, func(ledger.Era) error { return nil }); err == nil {
		t.Error("RotateKey to the current key's origin succeeded")
	}
	bad := ledgertest.LogKeyRotation(vkey2)
	bad.Record = bytes.Repeat([]byte{1}, 32)
	if _, _, err := l.RotateKey(t.Context(), bad, s2, vkey2, func(ledger.Era) error { return nil }); err == nil {
		t.Error("RotateKey with an entry naming another key succeeded")
	}
}

// linkFailing fails every batch holding a link entry while fail is set.
type linkFailing struct {
	ledger.Storage
	fail atomic.Bool
}

func (s *linkFailing) AddBatch(ctx context.Context, b ledger.Batch) error {
	for _, leaf := range b.Leaves {
		if _, ok := ledger.IsLink(leaf); ok && s.fail.Load() {
			return errors.New("disk gone")
		}
	}
	return s.Storage.AddBatch(ctx, b)
}

// A rotation whose link entry could not be written (the era stored, the process then dying)
// refuses appends until the link is written, and a restart writes it first: the new origin always
// begins with its link.
func TestRotateKeyLinkAfterCrash(t *testing.T) {
	env := storetest.Embedded(t)
	st := &linkFailing{Storage: env.Store}
	st.fail.Store(true)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: st, Signer: s1, Verifier: v1, Keys: first}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10)
	var stored ledger.Era
	_, era, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(e ledger.Era) error { stored = e; return nil })
	if err != nil {
		t.Fatalf("RotateKey = %v (the link entry's failure is the log's to retry)", err)
	}
	if _, err := l.Append(t.Context(), entry(1)); err == nil {
		t.Fatal("an append went before the new origin's link entry")
	}
	l.Shutdown(context.Background())

	st.fail.Store(false)
	stored.Verifier = nil
	hist, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}, stored})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := ledger.New(t.Context(), ledger.Config{Storage: st, Signer: s2, Verifier: v2, Keys: hist}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Shutdown(context.Background())
	r, err := l2.Append(t.Context(), entry(2))
	if err != nil {
		t.Fatal(err)
	}
	if r.Index != era.Start+1 || ledger.CheckReceipt(v2, r) != nil {
		t.Errorf("the first append after the restart is at %d (want %d, after the link), under the new key: %v", r.Index, era.Start+1, ledger.CheckReceipt(v2, r))
	}
	if _, err := l2.WaitCheckpoint(t.Context(), r.Index+1); err != nil {
		t.Fatal(err)
	}
	link, err := l2.Reader().Entry(t.Context(), era.Start)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := ledger.ParseCheckpoint(era.Final, v1)
	if root, ok := ledger.IsLink(link); !ok || root != final.Root {
		t.Errorf("entry %d after the restart is not the link entry: %q", era.Start, link)
	}
	if _, err := ledger.Verify(t.Context(), env.Store, v1, ledger.WithKeys(hist)); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

// Two instances sharing the log and its key files: when the sequencing one rotates, the other
// signs the receipts of the new era with the new key (it reads the keys again), follows the new
// origin's checkpoints, and, taking over the lease, goes on under the new key.
func TestRotateKeyFollowedByAnotherInstance(t *testing.T) {
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	// The shared key files.
	var mu sync.Mutex
	files, signer := first, note.Signer(s1)
	reload := func() (ledger.Keys, note.Signer, error) {
		mu.Lock()
		defer mu.Unlock()
		return files, signer, nil
	}
	opts := []ledger.Option{ledger.WithLeaseTTL(time.Second), ledger.WithIntegrationInterval(5 * time.Millisecond)}
	aCtx, killA := context.WithCancel(t.Context())
	defer killA()
	a, err := ledger.New(aCtx, ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first, Reload: reload}, append(opts, ledger.WithInstance("a"))...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.New(t.Context(), ledger.Config{Storage: secondStore(t, env), Signer: s1, Verifier: v1, Keys: first, Reload: reload}, append(opts, ledger.WithInstance("b"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v; want a only", a.Leading(), b.Leading())
	}
	if r, err := b.Append(t.Context(), entry(1)); err != nil || ledger.CheckReceipt(v1, r) != nil {
		t.Fatalf("b.Append before the rotation = %v", err)
	}
	_, era, err := a.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(e ledger.Era) error {
		k, err := ledger.NewKeys(append(first.Eras(), e))
		if err != nil {
			return err
		}
		mu.Lock()
		files, signer = k, s2
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Append(t.Context(), entry(2))
	if err != nil {
		t.Fatalf("b.Append after the rotation = %v", err)
	}
	if r.Index <= era.Start || ledger.CheckReceipt(v2, r) != nil {
		t.Fatalf("b's receipt for %d (the new key from %d): %v", r.Index, era.Start, ledger.CheckReceipt(v2, r))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cp, err := b.WaitCheckpoint(ctx, r.Index+1)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != v2.Name() {
		t.Errorf("b follows a checkpoint of origin %q", cp.Origin)
	}
	killA()
	r, err = b.Append(t.Context(), entry(3))
	if err != nil || ledger.CheckReceipt(v2, r) != nil {
		t.Fatalf("b.Append after taking over = %v", err)
	}
	if cp, err = b.WaitCheckpoint(ctx, r.Index+1); err != nil || cp.Origin != v2.Name() {
		t.Fatalf("b's own checkpoint: %q, %v", cp.Origin, err)
	}
}

// A log that holds only the newest key (a hub restored from its batches, say) integrates through
// a handover: at the start of the new key the history's final checkpoint stands for the one it
// cannot sign, and everything after is signed with the new key.
func TestRotateKeyIntegratedWithTheNewKeyOnly(t *testing.T) {
	src := newMemStorage()
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: src, Signer: s1, Verifier: v1, Keys: first}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 30)
	_, era, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 30)
	hist := l.Reader().Keys()
	l.Shutdown(context.Background())

	// Only the batches, in a new store, opened with the new key alone.
	dst := newMemStorage()
	for first := uint64(0); ; {
		b, err := src.ReadBatch(t.Context(), first)
		if errors.Is(err, ledger.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.AddBatch(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		first = b.End()
	}
	l2, err := ledger.New(t.Context(), ledger.Config{Storage: dst, Signer: s2, Verifier: v2, Keys: hist}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cp, err := l2.WaitCheckpoint(ctx, era.Start+31)
	if err != nil {
		t.Fatalf("the new-key-only log did not integrate past the handover at %d: %v", era.Start, err)
	}
	if cp.Origin != v2.Name() {
		t.Errorf("its checkpoint is of origin %q", cp.Origin)
	}
	if _, err := ledger.Verify(t.Context(), dst, v1, ledger.WithKeys(hist)); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

// startWitnessOf starts a witness that follows every given log (origin).
func startWitnessOf(t *testing.T, name string, logs ...note.Verifier) *testWitness {
	t.Helper()
	w := ledgertest.StartWitness(t, name, logs...)
	return &testWitness{srv: w.Server, verifier: w.Verifier, client: w.Client}
}

// An instance whose key files do not show a rotation the sequencing instance made (a copy of the
// key directory not yet updated) refuses to sign the receipts of the new key's entries, rather
// than signing them with the old key: it met the link entry while it looked for its own.
func TestRotateKeyUnseenByAnotherInstanceFailsClosed(t *testing.T) {
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, _, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	stale := func() (ledger.Keys, note.Signer, error) { return first, s1, nil } // b's files never change
	opts := []ledger.Option{ledger.WithLeaseTTL(time.Minute), ledger.WithIntegrationInterval(5 * time.Millisecond)}
	a, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first}, append(opts, ledger.WithInstance("a"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	b, err := ledger.New(t.Context(), ledger.Config{Storage: secondStore(t, env), Signer: s1, Verifier: v1, Keys: first, Reload: stale}, append(opts, ledger.WithInstance("b"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	if r, err := b.Append(t.Context(), entry(1)); err != nil || ledger.CheckReceipt(v1, r) != nil {
		t.Fatalf("b.Append before the rotation = %v", err)
	}
	if _, _, err := a.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r, err := b.Append(t.Context(), entry(2))
	if err == nil {
		t.Fatalf("b signed receipt %d after the rotation with the old key (verifies under it: %v)", r.Index, ledger.CheckReceipt(v1, r) == nil)
	}
	if !strings.Contains(err.Error(), "key directory") {
		t.Errorf("b.Append after an unseen rotation = %v, want a refusal naming the key directory", err)
	}
}
