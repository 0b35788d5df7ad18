package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/ledger"
)

func TestParseTrustedDocuments(t *testing.T) {
	me := `{ me { kind subject } }`
	good := graph.DocumentHash(me)
	if good != "515f1858c0075a086a5732fdd358f9f43bc7bf018ae2f924871b26eb99f84549" {
		t.Fatalf("DocumentHash(%q) = %s, want the SHA-256 of the text in hex", me, good)
	}
	other := graph.DocumentHash(`{ me { subject } }`)
	for _, tc := range []struct {
		name, file string
		err        string // "" for none; else a part of the error
	}{
		{name: "good", file: `{"` + good + `": "{ me { kind subject } }"}`},
		{name: "empty", file: `{}`},
		{name: "hash of another text", file: `{"` + good + `": "{ me { kind subject } }", "` + other + `": "{ me { kind } }"}`, err: `entry "` + other + `": its text hashes to`},
		{name: "not hex", file: `{"me": "{ me { kind subject } }"}`, err: `entry "me": the key is not a SHA-256`},
		{name: "upper-case hex", file: `{"` + strings.ToUpper(good) + `": "{ me { kind subject } }"}`, err: "the key is not a SHA-256 in lowercase hex"},
		{name: "whitespace matters", file: `{"` + good + `": "{ me { kind subject } } "}`, err: "its text hashes to"},
		{name: "not an object", file: `["{ me { kind subject } }"]`, err: "want one JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := graph.ParseTrustedDocuments([]byte(tc.file))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("ParseTrustedDocuments(%s) = %v", tc.file, err)
				}
				if tc.name == "good" {
					if text, ok := docs.Lookup(good); !ok || text != me {
						t.Errorf("Lookup(%s) = %q, %v, want %q", good, text, ok, me)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ParseTrustedDocuments(%s) = %v, want an error containing %q", tc.file, err, tc.err)
			}
		})
	}
}

// TestTrustedDocuments drives the real handler in trusted-documents mode: registered documents
// run, by text or by hash; anything else from a restricted principal is refused before it runs,
// with UNTRUSTED_DOCUMENT and a 4xx, and put on the ledger.
func TestTrustedDocuments(t *testing.T) {
	h := newTestHub(t)
	registered := `{ me { kind subject } }`
	unregistered := `{ me { subject } }`
	docs, err := graph.ParseTrustedDocuments([]byte(`{"` + graph.DocumentHash(registered) + `": "` + registered + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	docs.Restrict(auth.KindDepartment, auth.KindCitizen)
	handler := graph.NewHandler(&graph.Resolver{Reader: h.reader}, graph.HandlerConfig{TrustedDocuments: docs})
	auditor := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}
	persisted := func(hash string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	}
	for _, tc := range []struct {
		name   string
		p      auth.Principal
		body   map[string]any
		accept string
		status int
		code   string // "" for data
		logged bool
	}{
		{name: "registered text", p: doctor, body: map[string]any{"query": registered}, status: 200},
		{name: "registered hash", p: doctor, body: map[string]any{"extensions": persisted(graph.DocumentHash(registered))}, status: 200},
		{name: "registered text and hash", p: doctor, body: map[string]any{"query": registered, "extensions": persisted(graph.DocumentHash(registered))}, status: 200},
		{name: "unregistered text", p: doctor, body: map[string]any{"query": unregistered}, accept: "application/graphql-response+json",
			status: 400, code: graph.CodeUntrustedDocument, logged: true},
		{name: "unregistered text, application/json", p: doctor, body: map[string]any{"query": unregistered}, accept: "application/json",
			status: 200, code: graph.CodeUntrustedDocument, logged: true},
		{name: "unregistered hash", p: doctor, body: map[string]any{"extensions": persisted(graph.DocumentHash(unregistered))},
			accept: "application/graphql-response+json", status: 400, code: graph.CodeUntrustedDocument, logged: true},
		{name: "unregistered text with its hash", p: doctor, body: map[string]any{"query": unregistered, "extensions": persisted(graph.DocumentHash(unregistered))},
			accept: "application/graphql-response+json", status: 400, code: graph.CodeUntrustedDocument, logged: true},
		{name: "hash of another text", p: doctor, body: map[string]any{"query": unregistered, "extensions": persisted(graph.DocumentHash(registered))},
			status: 200, code: graph.CodeBadUserInput},
		{name: "unregistered text as a citizen", p: auth.Principal{Kind: auth.KindCitizen, Subject: "C000001"}, body: map[string]any{"query": unregistered},
			accept: "application/graphql-response+json", status: 400, code: graph.CodeUntrustedDocument, logged: true},
		{name: "unrestricted kind runs any text", p: auditor, body: map[string]any{"query": unregistered}, status: 200},
		{name: "unrestricted kind, registered hash", p: auditor, body: map[string]any{"extensions": persisted(graph.DocumentHash(registered))}, status: 200},
		{name: "unrestricted kind, unknown hash", p: auditor, body: map[string]any{"extensions": persisted(graph.DocumentHash(unregistered))},
			accept: "application/graphql-response+json", status: 400, code: graph.CodePersistedQueryNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.entries(t)
			body, err := json.Marshal(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			req = req.WithContext(auth.NewContext(req.Context(), tc.p))
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			var res struct {
				Data   map[string]any
				Errors []wireError
			}
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("response %d %q: %v", w.Code, w.Body.String(), err)
			}
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d (%s)", w.Code, tc.status, w.Body.String())
			}
			switch {
			case tc.code == "" && (len(res.Errors) > 0 || res.Data["me"] == nil):
				t.Errorf("response = %s, want data", w.Body.String())
			case tc.code != "" && (len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != tc.code || res.Data != nil):
				t.Errorf("response = %s, want one error %s and no data", w.Body.String(), tc.code)
			}
			after, _ := h.entries(t)
			switch {
			case !tc.logged && len(after) != len(before):
				t.Errorf("the ledger grew from %d to %d entries, want nothing logged", len(before), len(after))
			case tc.logged && len(after) != len(before)+1:
				t.Errorf("the ledger grew from %d to %d entries, want the refusal logged", len(before), len(after))
			case tc.logged:
				if e := after[len(after)-1]; e.Outcome != ledger.OutcomeDenied || e.Reason != "untrusted-document" {
					t.Errorf("entry = outcome %s reason %q, want denied, untrusted-document", e.Outcome, e.Reason)
				}
			}
		})
	}
}

// TestTrustedDocumentsRestrictEveryone: without Restrict, every kind of principal is held to the
// registered documents.
func TestTrustedDocumentsRestrictEveryone(t *testing.T) {
	docs, err := graph.ParseTrustedDocuments([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	docs.Register(`{ me { kind } }`)
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{TrustedDocuments: docs})
	for _, k := range []auth.Kind{auth.KindDepartment, auth.KindOfficer, auth.KindCitizen, auth.KindAuditor, auth.KindOperator} {
		p := auth.Principal{Kind: k, Subject: "x"}
		if w := postRaw(t, handler, p, `{ me { kind } }`, nil); w.Code != 200 || strings.Contains(w.Body.String(), "errors") {
			t.Errorf("%s: registered document = %d %s, want data", k, w.Code, w.Body.String())
		}
		w := postRaw(t, handler, p, `{ me { subject } }`, nil)
		if errs := decodeErrors(t, w); len(errs) != 1 || errs[0].Extensions["code"] != graph.CodeUntrustedDocument {
			t.Errorf("%s: unregistered document = %d %s, want UNTRUSTED_DOCUMENT", k, w.Code, w.Body.String())
		}
	}
}
