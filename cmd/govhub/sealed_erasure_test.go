package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

// TestSealedErasure: erasing a citizen with sealed accesses destroys their details and oversight
// copies; the early unseal proposed before is refused after, with nothing on the ledger; the
// public counts stay right; the oversight body reads the others' details and sees the erased one
// as erased; the receipt and check-erasure state it; the ledger verifies.
func TestSealedErasure(t *testing.T) {
	h, idFile := startSealedHub(t, 4)
	h.registerSealedPurpose()
	erased, kept := demo.CitizenID(2), demo.CitizenID(3)
	ia, _ := h.sealedAccess(erased)
	ib, _ := h.sealedAccess(kept)
	if r := h.query(h.token(officer1), proposeUnseal, map[string]any{"i": ia, "r": "the case is closed"}); len(r.Errors) > 0 {
		t.Fatalf("proposeEarlyUnseal: %+v", r.Errors)
	}

	h.erase(erased)
	rr := h.query(h.token(citizenP(erased)), myErasureReceiptQuery, nil)
	receipt, _ := get(rr.Data, "myErasureReceipt").(string)
	if receipt == "" {
		t.Fatalf("myErasureReceipt: %v %+v", rr.Data, rr.Errors)
	}
	out, err := h.checkErasure([]byte(receipt), "--citizen", erased)
	if err != nil || !strings.Contains(out, "sealed-details") || !strings.Contains(out, "sealed accesses: the details of any sealed access about the citizen") {
		t.Errorf("check-erasure = %q, %v, want it to state the sealed details destroyed", out, err)
	}

	// The approval is refused: the access is never unsealed, and nothing is appended.
	before, _ := h.entries()
	if r := h.query(h.token(officer2), approveUnseal, map[string]any{"i": ia}); errCode(r) != "ERASED" {
		t.Errorf("approving the early unseal of an erased citizen's access: %v %+v, want ERASED", r.Data, r.Errors)
	}
	if r := h.query(h.token(officer3), proposeUnseal, map[string]any{"i": ia, "r": "again"}); errCode(r) == "" {
		t.Errorf("proposing the early unseal of an erased citizen's access: %v, want refused", r.Data)
	}
	if after, _ := h.entries(); len(after) != len(before) {
		t.Errorf("refusals appended %d entries", len(after)-len(before))
	}
	if n, err := h.app.sealed.UnsealDue(t.Context()); n != 0 || err != nil {
		t.Errorf("UnsealDue = %d, %v", n, err)
	}

	// The public counts still count both.
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest("GET", sealedCountsPath, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"department":"public-security","count":2}`) {
		t.Errorf("GET %s = %d %s, want public-security 2", sealedCountsPath, rec.Code, rec.Body)
	}

	// The oversight body: the erased one shows as erased, without details; the other in full.
	var sout, serr bytes.Buffer
	if err := run(t.Context(), []string{"sealed", "read", "--data-dir", h.dir, "--identity", idFile}, &sout, &serr); err != nil {
		t.Fatalf("govhub sealed read = %v (%s)", err, serr.String())
	}
	seen := map[uint64]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(sout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("govhub sealed read line %q: %v", l, err)
		}
		seen[uint64(m["index"].(float64))] = m
	}
	if m := seen[ia]; m == nil || m["erased"] != true || m["details"] != nil || m["salt"] != nil {
		t.Errorf("govhub sealed read, the erased citizen's access = %v", m)
	}
	if m := seen[ib]; m == nil || m["erased"] != nil || !strings.Contains(fmt.Sprint(m["details"]), "court-order "+courtOrder+"\n") {
		t.Errorf("govhub sealed read, the other access = %v", m)
	}

	h.close()
	verifyLedger(t, h.dir)
}

// TestSealedErasureReplayedOnRestore: a backup taken before an erasure still holds the erased
// citizen's sealed access details; replaying the ledger's erasures on the restored store (what
// govhub ledger restore and backup restore do) destroys them again.
func TestSealedErasureReplayedOnRestore(t *testing.T) {
	h, _ := startSealedHub(t, 4)
	h.registerSealedPurpose()
	c := demo.CitizenID(2)
	_, raw := h.sealedAccess(c)
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(e.Sealed.Case)
	work := t.TempDir()
	export := filepath.Join(work, "hub.backup")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	h.erase(c)
	_, leaves := h.entries()
	restored := filepath.Join(work, "restored")
	copyKeys(t, h.dir, restored)
	h.close()

	out.Reset()
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", restored, "--from", export, "--log-origin", "govhub.test/ledger", "--quiet"}, &out, &errOut); err != nil {
		t.Fatalf("backup restore = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "erasures: 0 on the ledger") {
		t.Errorf("backup restore (a ledger from before the erasure):\n%s", out.String())
	}
	cfg := h.config()
	cfg.DataDir = restored
	st, err := openStorage(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close(context.WithoutCancel(t.Context()))
	if a, err := st.store.SealedAccess(t.Context(), id); err != nil || a.Erased || a.Oversight == nil {
		t.Fatalf("the backup's sealed access = %+v, %v, want it from before the erasure", a, err)
	}
	out.Reset()
	if err := replayErasures(t.Context(), st, restored, func(fn func(uint64, []byte) error) error {
		for i, raw := range leaves {
			if err := fn(uint64(i), raw); err != nil {
				return err
			}
		}
		return nil
	}, &out); err != nil {
		t.Fatalf("replayErasures = %v", err)
	}
	if !strings.Contains(out.String(), "erasures: 1 on the ledger; 1 citizens in the restored records were erased again; 1 sealed accesses lost their details again") {
		t.Errorf("replayErasures printed %q", out.String())
	}
	if a, err := st.store.SealedAccess(t.Context(), id); err != nil || !a.Erased || a.Oversight != nil {
		t.Errorf("the restored sealed access after the replay = %+v, %v, want erased", a, err)
	}
}
