package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
)

// wireErrors decodes the errors of a raw GraphQL response.
func wireErrors(t *testing.T, w *httptest.ResponseRecorder) []gqlError {
	t.Helper()
	var r struct{ Errors []gqlError }
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("response %d %.200q is not GraphQL-shaped JSON: %v", w.Code, w.Body.String(), err)
	}
	return r.Errors
}

// TestProtocolLimits: hostile or careless requests through the hub's real HTTP handler are
// refused with a clear code and status, never a panic, an echo of the request, or a stored
// replacement character.
func TestProtocolLimits(t *testing.T) {
	h := startHub(t, 3)
	auditor := http.Header{"Authorization": {"Bearer " + h.token(auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"})}}
	gql := func(header http.Header, q string, vars map[string]any) *httptest.ResponseRecorder {
		t.Helper()
		b, err := json.Marshal(map[string]any{"query": q, "variables": vars})
		if err != nil {
			t.Fatal(err)
		}
		return h.post(header, string(b))
	}
	badInput := func(t *testing.T, w *httptest.ResponseRecorder, name string) gqlError {
		t.Helper()
		errs := wireErrors(t, w)
		if w.Code >= 500 || len(errs) != 1 || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Fatalf("= %d %s, want one BAD_USER_INPUT", w.Code, w.Body)
		}
		if !strings.Contains(errs[0].Message, name) {
			t.Errorf("message %q does not name %s", errs[0].Message, name)
		}
		return errs[0]
	}

	t.Run("Int64 literal out of range", func(t *testing.T) {
		e := badInput(t, gql(auditor, `{ inclusionProof(index: 99999999999999999999) { index } }`, nil), `"index"`)
		if e.Extensions["argument"] != "index" {
			t.Errorf("extensions %v, want argument: index", e.Extensions)
		}
	})
	t.Run("Int64 given as a string", func(t *testing.T) {
		badInput(t, gql(auditor, `query($i: Int64!) { ledgerEntry(index: $i) { index } }`, map[string]any{"i": "1"}), "Int64")
	})
	t.Run("treeSize 0", func(t *testing.T) {
		badInput(t, gql(auditor, `{ inclusionProof(index: 0, treeSize: 0) { index } }`, nil), "treeSize")
		badInput(t, gql(auditor, `{ consistencyProof(from: 1, to: 0) { hashes } }`, nil), "to")
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		w := gql(auditor, `{ me { subject } }`, map[string]any{"pad": strings.Repeat("a", 1<<20)})
		errs := wireErrors(t, w)
		if w.Code != http.StatusRequestEntityTooLarge || len(errs) != 1 || errs[0].Extensions["code"] != "REQUEST_TOO_LARGE" {
			t.Errorf("= %d %.300s, want 413 REQUEST_TOO_LARGE", w.Code, w.Body)
		}
	})
	t.Run("batch", func(t *testing.T) {
		w := h.post(auditor, `[{"query":"{ me { subject } }"},{"query":"{ me { kind } } # ECHO-ME"}]`)
		errs := wireErrors(t, w)
		if w.Code != http.StatusBadRequest || len(errs) != 1 || !strings.Contains(errs[0].Message, "batch") {
			t.Errorf("= %d %s, want 400 refusing batches", w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "ECHO-ME") {
			t.Errorf("the refusal echoes the request: %s", w.Body)
		}
	})
	t.Run("invalid UTF-8 in an update", func(t *testing.T) {
		c := h.findCitizen(3, "identity")
		police := http.Header{"Authorization": {"Bearer " + h.token(policeClerk)}}
		before, _ := h.entries()
		body := `{"query":"mutation($id: ID!, $n: String!) { updateIdentity(citizenId: $id, purpose: \"identity-verification\", input: {name: $n}) { version } }",` +
			`"variables":{"id":"` + c.ID + "\",\"n\":\"\xe6\x9d\x8e\xff\"}}"
		w := h.post(police, body)
		e := badInput(t, w, "variables.n")
		if e.Extensions["field"] != "variables.n" {
			t.Errorf("extensions %v, want field: variables.n", e.Extensions)
		}
		if after, _ := h.entries(); len(after) != len(before) {
			t.Errorf("the refused update added %d ledger entries", len(after)-len(before))
		}
		res := h.query(h.token(policeClerk), `query($id: ID!) { citizen(id: $id, purpose: "identity-verification") { identity { name } } }`, map[string]any{"id": c.ID})
		if name, _ := get(res.Data, "citizen", "identity", "name").(string); strings.ContainsRune(name, '\uFFFD') {
			t.Errorf("the stored name holds U+FFFD: %q", name)
		}
	})
}
