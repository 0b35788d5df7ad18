package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

// The hub's log key is rotated (govhub keys rotate --key log, to a prepared key its witness
// knows) while three `govhub mirror`s follow it, configured with the first key only: they learn
// the new key from the hub's history, the mirror quorum holds the log under the new origin, and a
// mirror restarts from its own store. After the hub's data directory is lost, it is restored from
// a key split made when the key was prepared, a backup from before the rotation and the mirrors
// (one stopped): `govhub ledger restore` verifies the mirrors' history from the first key and the
// witness, writes keys/log.history.json (0600), and the ledger and every record verify under it;
// the restored hub starts under the new key, and the entries of receipts issued before and after
// the rotation are the ones restored.
func TestMirrorsAndRestoreAcrossLogKeyRotation(t *testing.T) {
	priv, err := keys.NewNoteKey("govhub.test/ledger/2")
	if err != nil {
		t.Fatal(err)
	}
	next, err := keys.ParseNote(priv)
	if err != nil {
		t.Fatal(err)
	}
	mh := startMirroredHub(t, next.VerifierKey)
	h, a := mh.testHub, mh.app
	// Prepared (as govhub keys rotate --key log --prepare makes it), then split and backed up.
	if err := keys.Write(filepath.Join(h.dir, "keys", logKeyFile(2)), priv); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	share := splitKeys(t, h.dir, work)
	var out, errOut bytes.Buffer
	export := filepath.Join(work, "hub.backup")
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	read := func() map[string]any {
		t.Helper()
		res := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`, map[string]any{"id": demo.CitizenID(1)})
		if len(res.Errors) > 0 {
			t.Fatalf("read: %+v", res.Errors)
		}
		return res.Extensions["ledger"].(map[string]any)
	}
	before := read()

	op := h.token(auth.Principal{Kind: auth.KindOperator, Subject: "ops-1"})
	out.Reset()
	if err := run(t.Context(), []string{"keys", "rotate", "--key", "log", "--data-dir", h.dir, "--hub", mh.url, "--token", op}, &out, &errOut); err != nil {
		t.Fatalf("keys rotate --key log = %v\n%s%s", err, out.String(), errOut.String())
	}
	history := a.log.Reader().Keys()
	if len(history.Eras()) != 2 {
		t.Fatalf("after the rotation the log has %d keys", len(history.Eras()))
	}
	start := history.Eras()[1].Start
	after := read()
	if uint64(after["index"].(float64)) <= start {
		t.Fatalf("the read after the rotation is at %v, not past the new key's start %d", after["index"], start)
	}
	for deadline := time.Now().Add(60 * time.Second); a.mirrors.Status().Mirrored < uint64(after["index"].(float64))+1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the mirrors never held entry %v: %+v\n%s", after["index"], a.mirrors.Status(), mh.mirrors[0].stderr.String())
		}
	}
	if o := a.log.Latest().Origin; o != "govhub.test/ledger/2" {
		t.Fatalf("the published checkpoint is of %q, want the new origin", o)
	}
	for i, m := range mh.mirrors {
		if !strings.Contains(m.stderr.String(), "mirror follows a rotated log key") {
			t.Errorf("mirror %d did not log that it follows the new key:\n%s", i, m.stderr.String())
		}
	}
	// Served under the new origin too, with the history.
	newBase := mh.mirrors[0].base[:strings.LastIndex(mh.mirrors[0].base, "/")] + "/" + sha256Hex("govhub.test/ledger/2")
	if code, body := fetch(t, newBase+"/log-keys", ""); code != 200 || !bytes.Equal(body, history.Document()) {
		t.Errorf("GET <new origin>/log-keys from the mirror = %d %q", code, body)
	}
	// A mirror restarts from its own store: its stored checkpoint is of the new origin.
	mh.mirrors[0].stop()
	mh.mirrors[0] = startMirror(t, mh.mirrorArgs(0, mh.addrs[0])...)
	if cp := mh.mirrors[0].waitSizeKeys(t, history, start+1); cp.Origin != "govhub.test/ledger/2" {
		t.Errorf("the restarted mirror's checkpoint is of %q", cp.Origin)
	}

	// The hub is lost; one mirror is stopped; the data directory is restored.
	mh.mirrors[2].stop()
	_, restored := mh.loseAndRestore(t, work, export, share)
	t.Logf("ledger restore:\n%s", restored)
	for _, want := range []string{"verified under 2 log keys", "refused", "wrote its history", "records match"} {
		if !strings.Contains(restored, want) {
			t.Errorf("ledger restore did not print %q", want)
		}
	}
	path := filepath.Join(h.dir, "keys", logHistoryFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", path, err, fi.Mode())
	}
	if doc, _ := os.ReadFile(path); !bytes.Equal(doc, history.Document()) {
		t.Errorf("the restored history is not the log's")
	}

	// The restored hub starts under the new key; the receipts name the restored entries.
	h.open()
	if got := h.app.log.Reader().Keys(); got.Current().Name() != "govhub.test/ledger/2" {
		t.Errorf("the restored hub's current log key is %s", got.Current().Name())
	}
	for _, rc := range []map[string]any{before, after} {
		index := uint64(rc["index"].(float64))
		raw, err := h.app.log.Reader().Entry(context.Background(), index)
		if err != nil {
			t.Fatalf("entry %d after the restore: %v", index, err)
		}
		if lh := ledger.LeafHash(raw); b64(lh[:]) != rc["leafHash"] {
			t.Errorf("entry %d after the restore is not the one the receipt names", index)
		}
	}
	if r := read(); uint64(r["index"].(float64)) <= uint64(after["index"].(float64)) {
		t.Errorf("a read on the restored hub was logged at %v", r["index"])
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// waitSizeKeys is waitSize for a log whose key was rotated: the checkpoint is verified under k.
func (m *runningMirror) waitSizeKeys(t *testing.T, k ledger.Keys, size uint64) ledger.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := fetch(t, m.base+"/checkpoint", "")
		if code == 200 {
			cp, err := k.ParseCheckpoint(body)
			if err != nil {
				t.Fatalf("the mirror's checkpoint: %v", err)
			}
			if cp.Size >= size {
				return cp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mirror did not reach size %d (GET checkpoint: %d %s)\n%s", size, code, body, m.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
