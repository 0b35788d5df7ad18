package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// A hub's data directory is lost; its keys come back from 2 of 3 officers' shares and its store
// from an encrypted export, the restore verifies the ledger and every record, and the restored hub
// answers a read exactly as before, with an update made before the export in it. One share is not
// enough, and an export does not open without the restored keys.
func TestKeysAndBackupRestore(t *testing.T) {
	const n = 6
	h := startHub(t, n)
	c := h.findCitizen(n, "tax")
	if res := h.query(h.token(taxClerk), updateTax, map[string]any{"id": c.ID, "income": 777001}); len(res.Errors) > 0 {
		t.Fatalf("updateTax: %+v", res.Errors)
	}
	before := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": c.ID})
	h.close()

	work := t.TempDir()
	var out, errOut bytes.Buffer
	share := splitKeys(t, h.dir, work)
	export := filepath.Join(work, "hub.backup")
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	raw, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(c.ID)) {
		t.Fatalf("the export holds a citizen id in clear")
	}

	// The data directory is lost.
	if err := os.RemoveAll(h.dir); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", h.dir, "--from", export}, &out, &errOut); err == nil {
		t.Fatalf("backup restore without the keys = nil error")
	}
	if err := run(t.Context(), []string{"keys", "restore", "--data-dir", h.dir, "--bundle", filepath.Join(work, "shares", "keys.bundle"), "--share", share("wang")}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "needs 2") {
		t.Fatalf("keys restore with one share = %v", err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"keys", "restore", "--data-dir", h.dir, "--bundle", filepath.Join(work, "shares", "keys.bundle"), "--share", share("wang"), "--share", share("zhao")}, &out, &errOut); err != nil {
		t.Fatalf("keys restore = %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", h.dir, "--from", export, "--log-origin", "govhub.test/ledger", "--quiet"}, &out, &errOut); err != nil {
		t.Fatalf("backup restore = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "records match") {
		t.Errorf("backup restore did not verify the records:\n%s", out.String())
	}
	h.open()
	after := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": c.ID})
	if len(after.Errors) > 0 || get(after.Data, "citizen", "tax", "annualIncome", "value") != float64(777001) {
		t.Fatalf("after the restore: %v %+v", after.Data, after.Errors)
	}
	b1, _ := json.Marshal(get(before.Data, "citizen"))
	b2, _ := json.Marshal(get(after.Data, "citizen"))
	if !bytes.Equal(b1, b2) {
		t.Errorf("the restored hub answers\n%s\nbefore it was lost:\n%s", b2, b1)
	}
	// Restoring again into a store that is not empty is refused.
	h.close()
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", h.dir, "--from", export}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("backup restore into a non-empty store = %v", err)
	}
}

// A backup taken while the hub serves reads (each one an entry: the ledger grows all along) is
// restorable: the ledger's collections are exported in an order a restore picks up from, and the
// restore's verification passes.
func TestBackupUnderLoad(t *testing.T) {
	h := startHub(t, 6)
	serveBeside(t, h)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		tok := h.token(housingClerk)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res := h.query(tok, `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`,
				map[string]any{"id": h.gen.Citizen(1 + n%6).ID})
			if len(res.Errors) > 0 {
				t.Errorf("read during the backup: %+v", res.Errors)
				return
			}
			n++
		}
	}()
	export := filepath.Join(t.TempDir(), "hub.backup")
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut)
	close(stop)
	reads := <-done
	if err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	if reads == 0 {
		t.Fatalf("no read ran during the backup")
	}
	restored := t.TempDir()
	copyKeys(t, h.dir, restored)
	out.Reset()
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", restored, "--from", export, "--log-origin", "govhub.test/ledger", "--quiet"}, &out, &errOut); err != nil {
		t.Fatalf("restore of a backup taken under %d reads = %v\n%s\n%s", reads, err, out.String(), errOut.String())
	}
	t.Logf("%d reads during the backup; restore:\n%s", reads, out.String())
}

// splitKeys runs `govhub keys split` on dataDir for three officers (li, wang, zhao; two needed),
// each with an age identity written under work, the shares in work/shares; share(name) is the
// --share argument of that officer's share.
func splitKeys(t *testing.T, dataDir, work string) (share func(name string) string) {
	t.Helper()
	var officerArgs []string
	idFiles := map[string]string{}
	for _, name := range []string{"li", "wang", "zhao"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		idFiles[name] = filepath.Join(work, name+".agekey")
		if err := os.WriteFile(idFiles[name], []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		officerArgs = append(officerArgs, "--officer", name+"="+id.Recipient().String())
	}
	shares := filepath.Join(work, "shares")
	var out bytes.Buffer
	if err := run(t.Context(), append([]string{"keys", "split", "--data-dir", dataDir, "--threshold", "2", "--out", shares}, officerArgs...), &out, &out); err != nil {
		t.Fatalf("keys split = %v\n%s", err, out.String())
	}
	return func(name string) string { return filepath.Join(shares, "share-"+name+".age") + "=" + idFiles[name] }
}
