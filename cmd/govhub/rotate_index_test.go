package main

import (
	"bytes"
	"errors"
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

	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// An index key rotation under load (logged reads, updates and citizens paging through their access
// logs) fails no request; afterwards the citizen's log holds the accesses from before and after it
// in order, a cursor from before it still pages on, their proofs verify, a citizen erased before
// it stays erased and their receipt still opens, every receipt from before verifies, every record
// is MAC'd under the new key (a second re-MAC finds nothing to do), a restarted hub reads
// everything, and govhub ledger verify (records audit included) passes.
//
// The citizens' pseudonyms move to the new key: afterwards nothing in the store is under any
// citizen's former pseudonym (a leaked old index key finds no access log), and the store's
// pseudonym key document names the new key alone.
func TestIndexKeyRotationUnderLoad(t *testing.T) {
	const n = 30
	defer func(g time.Duration) { pseudonymGrace = g }(pseudonymGrace)
	pseudonymGrace = 300 * time.Millisecond
	h := startHub(t, n)
	ids := h.citizensWith(n, "tax")
	if len(ids) < 6 {
		t.Fatalf("only %d demo citizens with tax records", len(ids))
	}
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	tax := h.token(taxClerk)
	watched, gone := ids[0], ids[len(ids)-1]
	ids = ids[:len(ids)-1]
	mine := h.token(citizenP(watched))

	// Before: a read of the watched citizen (and its receipt), a cursor into their log, and an
	// erasure (tombstone, entry and sealed receipt under the old key).
	first := h.query(tax, taxQuery, map[string]any{"id": watched})
	if len(first.Errors) > 0 {
		t.Fatalf("read before the rotation: %+v", first.Errors)
	}
	oldIndex := receiptIndex(first)
	h.query(tax, taxQuery, map[string]any{"id": watched})
	h.waitPublished(oldIndex + 1)
	var oldReceipt, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", fmt.Sprint(oldIndex)}, &oldReceipt, &errOut); err != nil {
		t.Fatalf("ledger receipt = %v (%s)", err, errOut.String())
	}
	page := h.query(mine, myAccessesQuery, map[string]any{"first": 1})
	oldCursor, _ := get(page.Data, "myAccesses", "pageInfo", "endCursor").(string)
	if len(page.Errors) > 0 || oldCursor == "" {
		t.Fatalf("myAccesses before the rotation: %v %+v", page.Data, page.Errors)
	}
	erasedAt := h.erase(gone)
	goneTok := h.token(citizenP(gone))
	receiptBefore := h.query(goneTok, myErasureReceiptQuery, nil)
	if len(receiptBefore.Errors) > 0 {
		t.Fatalf("myErasureReceipt before the rotation: %+v", receiptBefore.Errors)
	}
	before := h.app.keys.indexRing.Current()
	logBefore := h.accesses(mine, 3)

	// Load: 4 clients reading and updating tax values, and 2 citizens paging through their logs.
	var (
		requests, failures atomic.Int64
		firstFailure       atomic.Value
		stop               = make(chan struct{})
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		duringLoad         []uint64 // the entries about the watched citizen acknowledged under load
	)
	fail := func(what string, res result) {
		failures.Add(1)
		firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %+v", what, res.Errors))
	}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cursor string
			for i := w; ; i += 6 {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[i%len(ids)]
				var res result
				switch {
				case w >= 4:
					// A citizen pages on with the cursor of the page before (made under whichever
					// key was current then).
					vars := map[string]any{"first": 2}
					if cursor != "" {
						vars["after"] = cursor
					}
					res = h.query(h.token(citizenP(ids[w])), myAccessesQuery, vars)
					cursor = ""
					if get(res.Data, "myAccesses", "pageInfo", "hasNextPage") == true {
						cursor, _ = get(res.Data, "myAccesses", "pageInfo", "endCursor").(string)
					}
				case i%3 == 0:
					res = h.query(tax, updateTax, map[string]any{"id": id, "income": 90000000 + i})
				default:
					res = h.query(tax, taxQuery, map[string]any{"id": id})
					if len(res.Errors) == 0 && get(res.Data, "citizen", "tax", "annualIncome", "value") == nil {
						res.Errors = []gqlError{{Message: "no annualIncome value"}}
					}
				}
				requests.Add(1)
				if len(res.Errors) > 0 {
					fail(id, res)
				} else if id == watched && w < 4 {
					mu.Lock()
					duringLoad = append(duringLoad, receiptIndex(res))
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	var out bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--key", "index", "--data-dir", h.dir, "--hub", srv.URL, "--token", h.token(operator), "--wait"}, &out, io.Discard)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("keys rotate --key index = %v\n%s", err, out.String())
	}
	t.Logf("%d requests during the rotation\n%s", requests.Load(), out.String())
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", f, requests.Load(), firstFailure.Load())
	}
	if !strings.Contains(out.String(), "index key rotated: new key ") || !strings.Contains(out.String(), "re-MAC'd: ") ||
		!strings.Contains(out.String(), "0 former keys still moving") {
		t.Errorf("keys rotate printed:\n%s", out.String())
	}

	// The new key is current and on disk, the old one kept (0600); the new key is the pseudonym
	// key, the old one's data all moved.
	ring := h.app.keys.indexRing
	cur := ring.Current()
	pk, former := ring.PseudonymKeys()
	if bytes.Equal(cur, before) || len(ring.Keys()) != 2 || !bytes.Equal(pk, cur) || len(former) != 0 {
		t.Fatalf("after the rotation the ring holds %d keys, current changed %v, pseudonym key the new one %v, %d former",
			len(ring.Keys()), !bytes.Equal(cur, before), bytes.Equal(pk, cur), len(former))
	}
	if doc, err := h.app.readPseudonymMeta(t.Context()); err != nil || doc.ID != subject.KeyID(cur) || len(doc.Former) != 0 {
		t.Errorf("the store's pseudonym key document = %+v, %v; want the new key alone", doc, err)
	}
	// A leaked old index key finds nothing of any citizen: no access log, question queue or
	// application list, no private index reference.
	var old []string
	for _, id := range append(ids, watched, gone) {
		old = append(old, subject.Pseudonym(before, id))
	}
	if under, err := h.app.storage.store.PseudonymsUnder(t.Context(), old); err != nil || len(under) != 0 {
		t.Errorf("after the move, %d citizens still have data under their old pseudonym (%v)", len(under), err)
	}
	if _, err := h.app.storage.store.SubjectRef(t.Context(), subject.Pseudonym(before, watched), oldIndex); err == nil {
		t.Errorf("the watched citizen's private index reference to entry %d is still under the old pseudonym", oldIndex)
	}
	for _, f := range []string{"index.key", previousIndexKeysFile, indexRemacMarker} {
		fi, err := os.Stat(filepath.Join(h.dir, "keys", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("keys/%s: %v, mode %v", f, err, fi)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(h.dir, "keys", indexRemacMarker)); strings.TrimSpace(string(b)) != subject.KeyID(cur) {
		t.Errorf("re-MAC marker = %q, want the new key's id", b)
	}

	// The rotation entry is on the ledger, naming the new key by its digest only.
	entries, raws := h.entries()
	found := false
	for i, e := range entries {
		if e.Kind == ledger.KindRotation && e.Reason == "index" {
			found = true
			if !bytes.Equal(e.Record, hub.RotationDigest("index", subject.KeyID(cur))) || e.Department != "operator" {
				t.Errorf("rotation entry = %+v", e)
			}
			if bytes.Contains(raws[i], []byte(subject.KeyID(cur))) {
				t.Errorf("the rotation entry names the key id in clear:\n%s", raws[i])
			}
		}
	}
	if !found {
		t.Fatal("no index rotation entry on the ledger")
	}

	// Every head and record is under the new key: a second re-MAC finds all of them current.
	again, err := h.app.integrity.RemacRecords(t.Context(), h.app.storage.store, nil)
	if err != nil || again.Remaced != 0 || again.Refused != 0 || again.Current != again.Seen || again.Seen < n {
		t.Errorf("a second re-MAC = %+v, %v; want every head and record current", again, err)
	}

	// After: the watched citizen is read again; their log holds every access from before and the
	// new one, newest first, and proofs of an old and a new access verify.
	last := h.query(tax, taxQuery, map[string]any{"id": watched})
	if len(last.Errors) > 0 {
		t.Fatalf("read after the rotation: %+v", last.Errors)
	}
	newIndex := receiptIndex(last)
	logAfter := h.accesses(mine, 3)
	checkLog(t, logAfter, logBefore, append(duringLoad, newIndex))
	if len(duringLoad) == 0 {
		t.Errorf("no access to the watched citizen under load")
	}
	h.waitPublished(newIndex + 1)
	h.proofOf(mine, watched, oldIndex)
	h.proofOf(mine, watched, newIndex)
	// A cursor made before the rotation still pages on.
	if res := h.query(mine, myAccessesQuery, map[string]any{"first": 1, "after": oldCursor}); len(res.Errors) > 0 {
		t.Errorf("myAccesses after a cursor from before the rotation: %+v", res.Errors)
	}

	// The citizen erased before the rotation stays erased, and their receipt still opens.
	if res := h.query(tax, taxQuery, map[string]any{"id": gone}); res.errorAt("citizen") == nil || res.errorAt("citizen").Extensions["code"] != "ERASED" {
		t.Errorf("read of the citizen erased before the rotation: %v %+v, want ERASED", res.Data, res.Errors)
	}
	if res := h.query(goneTok, myErasureReceiptQuery, nil); len(res.Errors) > 0 || get(res.Data, "myErasureReceipt") != get(receiptBefore.Data, "myErasureReceipt") {
		t.Errorf("myErasureReceipt after the rotation: %+v (same as before: %v)", res.Errors, get(res.Data, "myErasureReceipt") == get(receiptBefore.Data, "myErasureReceipt"))
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

	// A restarted hub reads the ring from the key files and everything still reads.
	h.close()
	h.open()
	if got := h.app.keys.indexRing; !bytes.Equal(got.Current(), cur) || len(got.Keys()) != 2 {
		t.Errorf("after a restart the ring holds %d keys, current the new one %v", len(got.Keys()), bytes.Equal(got.Current(), cur))
	}
	tax = h.token(taxClerk)
	for _, id := range ids {
		res := h.query(tax, taxQuery, map[string]any{"id": id})
		if len(res.Errors) > 0 || get(res.Data, "citizen", "tax", "annualIncome", "value") == nil {
			t.Errorf("after a restart, reading %s: %+v", id, res.Errors)
		}
	}
	if res := h.query(tax, taxQuery, map[string]any{"id": gone}); res.errorAt("citizen") == nil || res.errorAt("citizen").Extensions["code"] != "ERASED" {
		t.Errorf("after a restart, the citizen erased before the rotation: %+v, want ERASED", res.Errors)
	}
	mine = h.token(citizenP(watched))
	if got := h.accesses(mine, 4); len(got) < len(logAfter) {
		t.Errorf("after a restart the citizen's log holds %d accesses, want at least %d", len(got), len(logAfter))
	}

	// A split of the keys carries the earlier index key; restored, the ring is the same.
	work := t.TempDir()
	share := splitKeys(t, h.dir, work)
	restored := filepath.Join(work, "restored")
	var rout bytes.Buffer
	if err := run(t.Context(), []string{"keys", "restore", "--data-dir", restored, "--bundle", filepath.Join(work, "shares", "keys.bundle"),
		"--share", share("li"), "--share", share("zhao")}, &rout, &rout); err != nil {
		t.Fatalf("keys restore = %v\n%s", err, rout.String())
	}
	if got, err := readIndexRing(restored); err != nil || len(got.Keys()) != 2 || !bytes.Equal(got.Current(), cur) || !bytes.Equal(got.Keys()[1], before) {
		t.Errorf("the restored index keys: %v, %v; want the new key, then the old one", got, err)
	}

	// govhub ledger verify, with the records audit, passes on the closed hub (the erasure made
	// under the old key still counts).
	h.close()
	v := verifyLedger(t, h.dir)
	if !strings.Contains(v, "records match") || !strings.Contains(v, "erased: 1 citizens") {
		t.Errorf("ledger verify printed:\n%s", v)
	}
	_ = erasedAt
}

// checkLog checks a citizen's log after a rotation: each access once; the log from before it is
// the oldest part, in the same order (the log is in the order accesses were acknowledged, which
// concurrent requests may make differ a little from ledger order); and every access acknowledged
// since the load began (before, during and after the rotation) is there, newer than all of them.
func checkLog(t *testing.T, after, before []any, since []uint64) {
	t.Helper()
	if len(after) < len(before)+1 {
		t.Fatalf("the log holds %d accesses after the rotation, %d before", len(after), len(before))
	}
	pos := map[uint64]int{}
	for i, a := range after {
		ix := idx(get(a, "index"))
		if _, dup := pos[ix]; dup {
			t.Errorf("the access at %d is in the log twice", ix)
		}
		pos[ix] = i
	}
	// Newest first: the accesses from before are the last len(before), in their order.
	tail := after[len(after)-len(before):]
	for i, a := range before {
		if got, want := idx(get(tail[i], "index")), idx(get(a, "index")); got != want {
			t.Errorf("access %d from the end of the log after the rotation is %d, want %d (as before it)", len(before)-i, got, want)
		}
	}
	for _, ix := range since {
		p, ok := pos[ix]
		if !ok {
			t.Errorf("the access at %d, acknowledged since the load began, is missing from the log", ix)
		} else if p >= len(after)-len(before) {
			t.Errorf("the access at %d, acknowledged since the load began, is among the older ones", ix)
		}
	}
}

// An instance whose index key files another instance rotated reads them again as soon as it meets
// a record MAC'd under the new key, and serves the record; a key set that drops the pseudonym key
// is refused.
func TestRotatedIndexKeyFilesAreFollowed(t *testing.T) {
	h := startHub(t, 6)
	dir := filepath.Join(h.dir, "keys")
	id := h.findCitizen(6, "tax").ID
	oldKey := h.app.keys.indexRing.Current()
	newKey := bytes.Repeat([]byte{0x6b}, subject.KeySize)

	// The other instance's rotation, as it leaves the files, and its re-MAC of the records.
	if err := appendPreviousFile(dir, previousIndexKeysFile, previousIndexKey{Key: oldKey, RetiredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := keys.Replace(filepath.Join(dir, "index.key"), []byte(base64Line(newKey))); err != nil {
		t.Fatal(err)
	}
	theirs, err := subject.NewRing(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := hub.NewIntegrity(hub.IntegrityConfig{IndexKeys: theirs, Heads: h.app.storage.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.CatchUp(t.Context(), h.app.log.Reader(), nil); err != nil {
		t.Fatal(err)
	}
	if pr, err := other.RemacRecords(t.Context(), h.app.storage.store, nil); err != nil || pr.Remaced == 0 || pr.Refused != 0 {
		t.Fatalf("the other instance's re-MAC = %+v, %v", pr, err)
	}
	if len(h.app.keys.indexRing.Keys()) != 1 {
		t.Fatalf("this instance took up the new key before meeting it")
	}
	res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": id})
	if len(res.Errors) > 0 || get(res.Data, "citizen", "tax", "annualIncome", "value") == nil {
		t.Fatalf("reading a record MAC'd under the other instance's new key: %+v", res.Errors)
	}
	if ring := h.app.keys.indexRing; !bytes.Equal(ring.Current(), newKey) || !bytes.Equal(pseudonymKeyOf(ring), oldKey) {
		t.Errorf("after meeting the new key the ring's current key is the new one %v, pseudonym key the old one %v",
			bytes.Equal(ring.Current(), newKey), bytes.Equal(pseudonymKeyOf(ring), oldKey))
	}
	if h.app.integrity.Alerts() != 0 {
		t.Errorf("%d integrity alerts", h.app.integrity.Alerts())
	}

	// Key files that lost the oldest key are refused: the ring keeps its keys.
	if err := keys.Replace(filepath.Join(dir, previousIndexKeysFile), []byte("[]\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := reloadIndexKeys(dir, h.app.keys.indexRing); !errors.Is(err, subject.ErrPseudonymKey) {
		t.Errorf("reading key files without the pseudonym key = %v, want ErrPseudonymKey", err)
	}
	// And a restart with them refuses to serve the store.
	h.close()
	if _, err := openApp(t.Context(), h.config()); err == nil || !strings.Contains(err.Error(), previousIndexKeysFile) {
		t.Errorf("openApp without the pseudonym key = %v, want a refusal naming %s", err, previousIndexKeysFile)
	}
}

// A rotation interrupted between its two file writes (and tried again) leaves the current key
// listed among the previous ones, twice: the ring still opens, each key once.
func TestIndexRingAfterAnInterruptedRotation(t *testing.T) {
	dir := t.TempDir()
	cur, old := bytes.Repeat([]byte{1}, subject.KeySize), bytes.Repeat([]byte{2}, subject.KeySize)
	for _, k := range [][]byte{old, cur, cur} {
		if err := appendPreviousFile(dir, previousIndexKeysFile, previousIndexKey{Key: k, RetiredAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := indexRingOf(dir, cur)
	if err != nil || len(r.Keys()) != 2 || !bytes.Equal(r.Current(), cur) || !bytes.Equal(pseudonymKeyOf(r), old) {
		t.Fatalf("indexRingOf = %v, %v; want the current key, then the old one as pseudonym key", r, err)
	}
}

// An erasure made under the old index key survives a restore after the rotation: restored from the
// key split (both index keys), a backup from before the erasure and the mirrors, the erasure on the
// ledger (its digest under the old key) is replayed, the audit passes, the citizen stays erased
// and their receipt still checks.
func TestErasureSurvivesRestoreAcrossIndexKeyRotation(t *testing.T) {
	mh := startMirroredHub(t)
	h, a := mh.testHub, mh.app
	c := h.gen.Citizen(2)
	work := t.TempDir()
	var out, errOut bytes.Buffer
	id := h.proposeErasure(c.ID)
	export := filepath.Join(work, "hub.backup")
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	res := h.query(h.token(officer2), approveErasureQuery, map[string]any{"id": id})
	if get(res.Data, "approveErasure", "status") != "applied" {
		t.Fatalf("approveErasure: %v %+v", res.Data, res.Errors)
	}
	rr := h.query(h.token(citizenP(c.ID)), myErasureReceiptQuery, nil)
	receipt := []byte(fmt.Sprint(get(rr.Data, "myErasureReceipt")))
	rot, err := a.rotateIndexKey(t.Context(), operator)
	if err != nil {
		t.Fatalf("rotateIndexKey = %v", err)
	}
	share := splitKeys(t, h.dir, work) // after the rotation: both index keys
	mh.waitMirrored(t, rot.Index)
	_, restored := mh.loseAndRestore(t, work, export, share)
	if !strings.Contains(restored, "erasures: 1 on the ledger; 1 citizens in the restored records were erased again") ||
		!strings.Contains(restored, "records match") || !strings.Contains(restored, "erased: 1 citizens") {
		t.Errorf("ledger restore did not replay the erasure made under the old index key, or the audit did not pass:\n%s", restored)
	}

	h.open()
	if got := h.app.keys.indexRing; len(got.Keys()) != 2 {
		t.Errorf("the restored hub holds %d index keys, want 2", len(got.Keys()))
	}
	got := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
	if e := got.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("read of the erased citizen after the restore: %v %+v", got.Data, got.Errors)
	}
	if out, err := h.checkErasure(receipt, "--citizen", c.ID, "--witness-key", mh.witnessKey, "--quorum", "1"); err != nil {
		t.Errorf("a receipt issued before the rotation, against the restored log: %q, %v", out, err)
	}
	if strings.Contains(h.storeDump(), c.ID) {
		t.Error("the restored store names the erased citizen")
	}
}

// Two rotations in a row: the re-MAC started by the first goes again for the second, and every
// record ends under the newest key, with the ring holding all three keys; the citizens' pseudonyms
// end under the newest key, nothing left under either earlier one, and each citizen's log still
// holds the access from before.
func TestIndexKeyRotatedTwice(t *testing.T) {
	defer func(g time.Duration) { pseudonymGrace = g }(pseudonymGrace)
	pseudonymGrace = 200 * time.Millisecond
	h := startHub(t, 8)
	ids := h.citizensWith(8, "tax")
	before := map[string]uint64{}
	for _, id := range ids {
		res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": id})
		if len(res.Errors) > 0 {
			t.Fatalf("reading %s: %+v", id, res.Errors)
		}
		before[id] = receiptIndex(res)
	}
	keys := [][]byte{h.app.keys.indexRing.Current()}
	for range 2 {
		if _, err := h.app.rotateIndexKey(t.Context(), operator); err != nil {
			t.Fatalf("rotateIndexKey = %v", err)
		}
		keys = append(keys, h.app.keys.indexRing.Current())
		h.app.remacInBackground(t.Context(), true)
	}
	ring := h.app.keys.indexRing
	marker := filepath.Join(h.dir, "keys", indexRemacMarker)
	for deadline := time.Now().Add(30 * time.Second); ; {
		b, _ := os.ReadFile(marker)
		running, _, _ := h.app.indexRotation.snapshot()
		if !running && strings.TrimSpace(string(b)) == subject.KeyID(ring.Current()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the re-MAC did not finish under the newest key (marker %q)", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitRekeyed(t, h)
	if pk, former := ring.PseudonymKeys(); len(ring.Keys()) != 3 || !bytes.Equal(pk, keys[2]) || len(former) != 0 {
		t.Errorf("after two rotations the ring holds %d keys, the pseudonym key the newest %v, %d former", len(ring.Keys()), bytes.Equal(pk, keys[2]), len(former))
	}
	if pr, err := h.app.integrity.RemacRecords(t.Context(), h.app.storage.store, nil); err != nil || pr.Current != pr.Seen || pr.Seen == 0 {
		t.Errorf("after two rotations a re-MAC = %+v, %v; want every head and record under the newest key", pr, err)
	}
	var old []string
	for _, id := range ids {
		old = append(old, subject.Pseudonym(keys[0], id), subject.Pseudonym(keys[1], id))
	}
	if under, err := h.app.storage.store.PseudonymsUnder(t.Context(), old); err != nil || len(under) != 0 {
		t.Errorf("after two rotations, %d pseudonyms under the earlier keys still hold data (%v)", len(under), err)
	}
	for _, id := range ids {
		if res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": id}); len(res.Errors) > 0 {
			t.Errorf("reading %s after two rotations: %+v", id, res.Errors)
		}
		found := false
		for _, a := range h.accesses(h.token(citizenP(id)), 10) {
			found = found || idx(get(a, "index")) == before[id]
		}
		if !found {
			t.Errorf("%s's log after two rotations lacks the access at %d from before them", id, before[id])
		}
	}
}

// pseudonymKeyOf is ring's pseudonym key.
func pseudonymKeyOf(ring *subject.Ring) []byte {
	k, _ := ring.PseudonymKeys()
	return k
}
