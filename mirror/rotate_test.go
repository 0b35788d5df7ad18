package mirror_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/ledgertest"
	"github.com/govhub/govhub/mirror"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

// cosignerKey makes a C2SP cosignature/v1 key (a witness's or a mirror's).
func cosignerKey(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func accessEntry(i int) ledger.Entry {
	return ledger.Entry{Version: 1, Kind: ledger.KindAccess, Time: time.Now().UTC().Truncate(time.Millisecond),
		Department: "housing", Role: "clerk", Purpose: "home-purchase-eligibility", Policy: uint64(i + 1),
		Request: bytes.Repeat([]byte{byte(i)}, 32), Outcome: ledger.OutcomeAllowed,
		Subjects: [][]byte{bytes.Repeat([]byte{0x5b}, 32)}, Fields: []ledger.Field{{Name: "tax.annualIncome", Level: "commit"}}}
}

// otherStore opens a store in another database of env's embedded server.
func otherStore(t *testing.T, env *storetest.Env, db string) *mongostore.Store {
	t.Helper()
	s, err := mongostore.New(t.Context(), env.Client.Database(db), mongostore.WithEmbedded(env.Server))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds or a minute passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A mirror configured with the log's first key only follows the log while its key is rotated
// under load: it learns the new key from the log's history (verified from the first key and the
// witnesses), stores it, ends with the whole log verified and cosigned under the new origin (its
// cosignatures count towards the hub's mirror quorum there), serves the history under both
// origins, reopens from its store without the log, and a restore reads the whole log back from it.
// A mirror offered a tampered history refuses it and does not advance.
func TestMirrorFollowsLogKeyRotation(t *testing.T) {
	hubEnv, mirrorEnv := storetest.Embedded(t), storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	w1, w2 := ledgertest.StartWitness(t, "w1.example", v1, v2), ledgertest.StartWitness(t, "w2.example", v1, v2)
	c1, wv1, c2, wv2 := w1.Client, w1.Verifier, w2.Client, w2.Verifier
	ws := []note.Verifier{wv1, wv2}
	msigner, mverifier := cosignerKey(t, "mirror.tax.example")

	// The hub's log, served over HTTP (tlog-tiles and log-keys) once it exists.
	var logp atomic.Pointer[ledger.Log]
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l := logp.Load(); l != nil {
			l.Reader().Handler().ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer hub.Close()

	m, err := mirror.New(t.Context(), mirror.Config{LogURL: hub.URL, Log: v1, LogKey: vkey1, Witnesses: ws, Quorum: 2, Signer: msigner,
		Store: mirrorEnv.Store, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	msrv := httptest.NewServer(m.Handler())
	defer msrv.Close()
	client := mirror.NewClient(msrv.URL, mverifier, msrv.Client())
	set := ledger.NewMirrorSet([]ledger.MirrorCosigner{client}, 1, 0)

	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: hubEnv.Store, Signer: s1, Verifier: v1, Keys: first},
		ledger.WithIntegrationInterval(5*time.Millisecond), ledger.WithWitnesses([]ledger.Cosigner{c1, c2}, 2), ledger.WithMirrors(set))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	logp.Store(l)
	ctx, cancel := context.WithCancel(t.Context())
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	stopRun := func() {
		if cancel != nil {
			cancel()
			if err := <-runDone; err != nil {
				t.Errorf("mirror Run = %v", err)
			}
			cancel = nil
		}
	}
	defer stopRun()

	for i := range 300 {
		if _, err := l.Append(t.Context(), accessEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the mirror to follow the first origin", func() bool { return m.Size() >= 300 })
	if code, body := get(t, msrv.URL+"/"+m.OriginHash()+"/log-keys"); code != http.StatusOK || !bytes.Equal(body, l.Reader().Keys().Document()) {
		t.Errorf("GET log-keys before the rotation = %d %q, want the log's one-key history", code, body)
	}

	// The log key is rotated while appends go on and the mirror follows.
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if _, err := l.Append(t.Context(), accessEntry(1000*(g+1)+i)); err != nil {
					failed.Add(1)
					t.Errorf("Append during the rotation = %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	_, era, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { return nil })
	if err != nil {
		t.Fatalf("RotateKey = %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	if err := l.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	final := l.Integrated().Size
	last, err := l.WaitCheckpoint(t.Context(), final)
	if err != nil {
		t.Fatal(err)
	}
	if last.Origin != v2.Name() || last.Size <= era.Start {
		t.Fatalf("the log's latest checkpoint is of %s, size %d; want the new origin past %d", last.Origin, last.Size, era.Start)
	}
	waitFor(t, "the mirror to hold the whole log", func() bool { return m.Size() >= last.Size })
	waitFor(t, "the mirror quorum to hold the whole log under the new origin", func() bool { return set.Status().Mirrored >= last.Size })
	stopRun()

	// The mirror follows the history, and its checkpoint is the new origin's, cosigned by it.
	keys := m.Keys()
	if got := keys.Eras(); len(got) != 2 || got[1].Start != era.Start || keys.Current().Name() != v2.Name() {
		t.Fatalf("the mirror's key history: %d keys, current %s", len(got), keys.Current().Name())
	}
	mcp, err := keys.ParseCheckpoint(m.Checkpoint())
	if err != nil || mcp.Origin != v2.Name() || mcp.Size != m.Size() {
		t.Fatalf("the mirror checkpoint under the history: %+v, %v", mcp, err)
	}
	if _, err := note.Open(m.Checkpoint(), note.VerifierList(mverifier)); err != nil {
		t.Errorf("the mirror checkpoint does not carry the mirror's cosignature: %v", err)
	}
	if err := keys.CheckCosignatures(m.Checkpoint(), ws, 2); err != nil {
		t.Errorf("the mirror checkpoint's witness cosignatures: %v", err)
	}
	// Asked directly, the mirror cosigns the log's new-origin checkpoint.
	sig, err := client.Cosign(t.Context(), last.Note)
	if err != nil {
		t.Fatalf("Cosign of the new origin's checkpoint = %v", err)
	}
	if _, err := note.Open(append(bytes.Clone(last.Note), sig...), note.VerifierList(mverifier)); err != nil {
		t.Errorf("the mirror's cosignature of the new origin's checkpoint: %v", err)
	}
	// A checkpoint of the old origin past its final size, though signed by the old key, is refused.
	forged, err := ledger.SignCheckpoint(s1, last.Size, last.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Cosign(t.Context(), forged.Note); err == nil {
		t.Error("the mirror cosigned an old-key checkpoint past the old origin's final size")
	}

	// The history is served under both origins, as the log publishes it.
	for _, v := range []note.Verifier{v1, v2} {
		url := msrv.URL + "/" + originHashOf(v.Name()) + "/log-keys"
		code, body := get(t, url)
		if code != http.StatusOK || !bytes.Equal(body, l.Reader().Keys().Document()) {
			t.Errorf("GET %s = %d %q, want the log's history", url, code, body)
		}
	}

	// Restore: the whole log, read back from the mirror's first-origin URL with the first key.
	snap, err := mirror.Copy(t.Context(), msrv.URL+"/"+m.OriginHash(), mirror.CopyConfig{Log: v1, Witnesses: ws, Quorum: 2})
	if err != nil {
		t.Fatalf("Copy = %v", err)
	}
	if snap.Checkpoint.Size != m.Size() || uint64(len(snap.Entries)) != m.Size() || len(snap.Keys.Eras()) != 2 {
		t.Fatalf("Copy: size %d, %d entries, %d keys; want %d, %d, 2", snap.Checkpoint.Size, len(snap.Entries), len(snap.Keys.Eras()), m.Size(), m.Size())
	}
	for i, e := range snap.Entries {
		want, err := l.Reader().Entry(t.Context(), uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e, want) {
			t.Fatalf("Copy: entry %d differs from the log's", i)
		}
	}
	if root, ok := ledger.IsLink(snap.Entries[era.Start]); !ok || root != mustParse(t, snap.Keys, era.Final).Root {
		t.Errorf("entry %d of the copy is not the link to the old origin's final checkpoint", era.Start)
	}
	// Without the witnesses' quorum on the handover, a restore trusting them refuses the history.
	if _, err := mirror.Copy(t.Context(), msrv.URL+"/"+m.OriginHash(), mirror.CopyConfig{Log: v1, Witnesses: ws[:1], Quorum: 2}); err == nil {
		t.Error("Copy accepted a history without the witness quorum it was told to require")
	}

	// A mirror that starts after the rotation and is served a tampered history refuses it, stores
	// nothing and does not advance; served the log's own, it copies the whole log.
	tampered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/log-keys" {
			l.Reader().Handler().ServeHTTP(w, r)
			return
		}
		var d map[string]any
		if err := json.Unmarshal(l.Reader().Keys().Document(), &d); err != nil {
			t.Error(err)
		}
		_, _, vkey3 := ledgertest.NoteKey(t, "govhub.test/ledger/3")
		d["eras"].([]any)[1].(map[string]any)["key"] = vkey3
		json.NewEncoder(w).Encode(d)
	}))
	defer tampered.Close()
	freshStore := otherStore(t, mirrorEnv, "fresh")
	fresh, err := mirror.New(t.Context(), mirror.Config{LogURL: tampered.URL, Log: v1, Witnesses: ws, Quorum: 2, Signer: msigner, Store: freshStore})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Sync(t.Context()); !errors.Is(err, mirror.ErrKeys) || !errors.Is(err, mirror.ErrSignature) {
		t.Errorf("Sync with a tampered key history = %v, want ErrKeys and ErrSignature", err)
	}
	if fresh.Size() != 0 || len(fresh.Keys().Eras()) != 1 {
		t.Errorf("after a tampered history the mirror is at %d with %d keys, want 0 and 1", fresh.Size(), len(fresh.Keys().Eras()))
	}
	fresh, err = mirror.New(t.Context(), mirror.Config{LogURL: hub.URL, Log: v1, Witnesses: ws, Quorum: 2, Signer: msigner, Store: freshStore})
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Keys().Eras()) != 1 {
		t.Errorf("the refused history was stored: %d keys", len(fresh.Keys().Eras()))
	}
	// Asked by the hub to cosign a checkpoint of the new origin, under that origin's hash, before it
	// knows the origin: it reads the history, copies the whole log and cosigns.
	freshSrv := httptest.NewServer(fresh.Handler())
	defer freshSrv.Close()
	if code, _ := get(t, freshSrv.URL+"/"+fresh.OriginHash()+"/log-keys"); code != http.StatusNotFound {
		t.Errorf("GET log-keys from a mirror without the first key's text nor a rotation = %d, want 404", code)
	}
	if code, _ := get(t, freshSrv.URL+"/"+originHashOf(v2.Name())+"/checkpoint"); code != http.StatusNotFound {
		t.Errorf("GET <new origin>/checkpoint from a mirror that does not know the origin = %d, want 404", code)
	}
	resp, err := http.Post(freshSrv.URL+"/"+originHashOf("govhub.test/ledger/9")+"/cosign", "text/plain", bytes.NewReader(last.Note))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || fresh.Size() != 0 {
		t.Errorf("POST cosign under the hash of another origin than the checkpoint's = %d (size %d), want 404 and nothing copied", resp.StatusCode, fresh.Size())
	}
	fsig, err := mirror.NewClient(freshSrv.URL, mverifier, freshSrv.Client()).Cosign(t.Context(), last.Note)
	if err != nil || fresh.Size() != last.Size || len(fresh.Keys().Eras()) != 2 {
		t.Fatalf("Cosign of a new-origin checkpoint by a mirror starting empty = %v; size %d, %d keys; want the whole log (%d), 2 keys",
			err, fresh.Size(), len(fresh.Keys().Eras()), last.Size)
	}
	if _, err := note.Open(append(bytes.Clone(last.Note), fsig...), note.VerifierList(mverifier)); err != nil {
		t.Errorf("the fresh mirror's cosignature: %v", err)
	}
	if code, body := get(t, freshSrv.URL+"/"+originHashOf(v2.Name())+"/checkpoint"); code != http.StatusOK || !bytes.HasPrefix(body, last.Note) {
		t.Errorf("GET <new origin>/checkpoint = %d %q, want the log's checkpoint with the mirror's cosignature", code, body)
	}

	// The mirror reopens from its store alone: the log is gone.
	hub.Close()
	m2, err := mirror.New(t.Context(), mirror.Config{LogURL: hub.URL, Log: v1, Witnesses: ws, Quorum: 2, Signer: msigner, Store: mirrorEnv.Store})
	if err != nil {
		t.Fatalf("reopening the mirror without the log = %v", err)
	}
	if m2.Size() != m.Size() || len(m2.Keys().Eras()) != 2 {
		t.Errorf("reopened: size %d, %d keys; want %d, 2", m2.Size(), len(m2.Keys().Eras()), m.Size())
	}
	// Opened under another first key, the stored history (and state) is refused.
	_, vOther, _ := ledgertest.NoteKey(t, "govhub.test/ledger")
	if _, err := mirror.New(t.Context(), mirror.Config{LogURL: hub.URL, Log: vOther, Signer: msigner, Store: mirrorEnv.Store}); err == nil {
		t.Error("the mirror opened its store under another first log key")
	}
}

// mustParse parses a checkpoint under k.
func mustParse(t *testing.T, k ledger.Keys, text []byte) ledger.Checkpoint {
	t.Helper()
	cp, err := k.ParseCheckpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

func originHashOf(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}
