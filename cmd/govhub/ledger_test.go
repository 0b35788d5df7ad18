package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

var auditor = auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}

func (h *testHub) waitPublished(n uint64) ledger.Checkpoint {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	cp, err := h.app.log.WaitCheckpoint(ctx, n)
	if err != nil {
		h.t.Fatal(err)
	}
	return cp
}

// Auditors and anyone with a token can check the ledger over GraphQL: the checkpoint, inclusion and
// consistency proofs (verified here with transparency-dev/merkle), and, for auditors, entries.
func TestLedgerOverGraphQL(t *testing.T) {
	h := startHub(t, 5)
	c := h.findCitizen(5, "identity")
	res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
	rcpt := res.Extensions["ledger"].(map[string]any)
	index := int64(rcpt["index"].(float64))
	h.waitPublished(uint64(index) + 1)

	q := `query($i: Int64!) {
	  ledgerCheckpoint { origin size rootHash note }
	  inclusionProof(index: $i) { index treeSize hashes }
	  consistencyProof(from: 3) { from to hashes }
	}`
	out := h.query(h.token(housingClerk), q, map[string]any{"i": index})
	if len(out.Errors) > 0 {
		t.Fatalf("errors: %+v", out.Errors)
	}
	cp, err := ledger.ParseCheckpoint([]byte(get(out.Data, "ledgerCheckpoint", "note").(string)), h.app.log.Reader().Keys().Current())
	if err != nil {
		t.Fatalf("ledgerCheckpoint.note: %v", err)
	}
	if get(out.Data, "inclusionProof", "treeSize") != float64(cp.Size) {
		t.Errorf("inclusionProof.treeSize = %v, want %d", get(out.Data, "inclusionProof", "treeSize"), cp.Size)
	}
	leafHash, _ := base64.StdEncoding.DecodeString(rcpt["leafHash"].(string))
	var hs [][]byte
	for _, s := range get(out.Data, "inclusionProof", "hashes").([]any) {
		b, _ := base64.StdEncoding.DecodeString(s.(string))
		hs = append(hs, b)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), cp.Size, leafHash, hs, cp.Root[:]); err != nil {
		t.Errorf("the receipt's entry is not proved in the checkpoint: %v", err)
	}

	entryQ := `query($i: Int64!) { ledgerEntry(index: $i) { index kind department role purpose outcome fields { name level } subjects raw } }`
	if r := h.query(h.token(housingClerk), entryQ, map[string]any{"i": index}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("ledgerEntry as a clerk: %+v, want FORBIDDEN", r.Errors)
	}
	r := h.query(h.token(auditor), entryQ, map[string]any{"i": index})
	if len(r.Errors) > 0 || get(r.Data, "ledgerEntry", "department") != "housing" || get(r.Data, "ledgerEntry", "kind") != "access" {
		t.Fatalf("ledgerEntry as auditor = %v %+v", r.Data, r.Errors)
	}
	if strings.Contains(get(r.Data, "ledgerEntry", "raw").(string), c.ID) {
		t.Errorf("the entry names the citizen")
	}
	if r := h.query(h.token(auditor), `{ ledgerEntry(index: 99999999999) { index } }`, nil); len(r.Errors) != 1 || r.Errors[0].Extensions["retryable"] != true {
		t.Errorf("ledgerEntry past 2^31 beyond the log: %+v, want a retryable not-yet-published error", r.Errors)
	}

	// Receipts of arbitrary entries are for auditors too.
	receiptQ := `query($i: Int64!) { ledgerReceipt(index: $i) }`
	for _, p := range []auth.Principal{housingClerk, officer1} {
		if r := h.query(h.token(p), receiptQ, map[string]any{"i": index}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" || r.Data["ledgerReceipt"] != nil {
			t.Errorf("ledgerReceipt as %s/%s: %v %+v, want FORBIDDEN", p.Kind, p.Department, r.Data, r.Errors)
		}
	}
	r = h.query(h.token(auditor), receiptQ, map[string]any{"i": index})
	if len(r.Errors) > 0 {
		t.Fatalf("ledgerReceipt as auditor: %+v", r.Errors)
	}
	p, err := ledger.ParseProof([]byte(get(r.Data, "ledgerReceipt").(string)))
	if err != nil || p.Index != uint64(index) {
		t.Errorf("ledgerReceipt as auditor = %v (%v), want the proof of entry %d", p, err, index)
	}
}

// The tlog-tiles read API: tiles are public, entry bundles are for auditor tokens only.
func TestTilesAPIAccess(t *testing.T) {
	h := startHub(t, 80)
	h.waitPublished(256)
	for _, tc := range []struct {
		path   string
		token  string
		status int
	}{
		{"/checkpoint", "", http.StatusOK},
		{"/tile/0/000", "", http.StatusOK},
		{"/tile/entries/000", "", http.StatusUnauthorized},
		{"/tile/entries/000", h.token(housingClerk), http.StatusForbidden},
		{"/tile/entries/000", h.token(auditor), http.StatusOK},
		// Escaped slashes and letters name the same bundle: still for auditors only.
		{"/tile/entries%2F000", "", http.StatusUnauthorized},
		{"/tile/entries%2f000", h.token(housingClerk), http.StatusForbidden},
		{"/tile/%65ntries/000", "", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("GET %s = %d, want %d (%s)", tc.path, w.Code, tc.status, w.Body.String())
		}
	}
}

// A receipt from `govhub ledger receipt` (beside the running hub, or with it stopped) verifies
// offline with `govhub ledger check-receipt`, and a receipt whose entry was changed does not.
func TestReceiptCommands(t *testing.T) {
	h := startHub(t, 5)
	h.waitPublished(10)
	vkey := h.app.keys.log.VerifierKey
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", "7"}, &out, &errOut); err != nil {
		t.Fatalf("ledger receipt beside the hub = %v (%s)", err, errOut.String())
	}
	h.close()
	out.Reset()
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", "7"}, &out, &errOut); err != nil {
		t.Fatalf("ledger receipt = %v (%s)", err, errOut.String())
	}
	file := filepath.Join(t.TempDir(), "entry7.tlog-proof")
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var check bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "check-receipt", file, "--log-key", vkey}, &check, &errOut); err != nil {
		t.Fatalf("check-receipt = %v: %s", err, check.String())
	}
	if !strings.HasPrefix(check.String(), "OK: entry 7 ") {
		t.Errorf("check-receipt says %q", check.String())
	}

	p, err := ledger.ParseProof(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	p.Extra = bytes.Replace(p.Extra, []byte("outcome allowed"), []byte("outcome denied"), 1)
	if err := os.WriteFile(file, p.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	check.Reset()
	err = run(t.Context(), []string{"ledger", "check-receipt", file, "--log-key", vkey}, &check, &errOut)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.HasPrefix(check.String(), "FAIL") {
		t.Errorf("check-receipt(altered entry) = %v, %q; want FAIL and exit 1", err, check.String())
	}
	if err := run(t.Context(), []string{"ledger", "check-receipt", file, "--log-key", vkey, "--quorum", "1"}, &check, &errOut); err == nil {
		t.Errorf("check-receipt with a quorum and no witness keys = nil error")
	}

	// An entry that no longer parses, or a receipt that is not one, gets the same verdict line.
	for name, data := range map[string][]byte{
		"unparseable entry": func() []byte {
			q := p
			q.Extra = bytes.Replace(p.Extra, []byte("kind "), []byte("kin? "), 1)
			return q.Marshal()
		}(),
		"not a receipt": []byte("hello\n"),
	} {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		check.Reset()
		err = run(t.Context(), []string{"ledger", "check-receipt", file, "--log-key", vkey}, &check, &errOut)
		if !errors.As(err, &ee) || ee.code != 1 || !strings.HasPrefix(check.String(), "FAIL: ") {
			t.Errorf("check-receipt(%s) = %v, %q; want a FAIL line and exit 1", name, err, check.String())
		}
	}
}
