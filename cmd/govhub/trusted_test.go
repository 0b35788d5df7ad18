package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/web"
)

// A trusted-documents file with an entry whose key is not the hash of its text, or a bad
// --trusted-documents-for, fails start-up (status 2) naming the entry or the setting, before the
// data directory is created.
func TestTrustedDocumentsBadFile(t *testing.T) {
	dir := t.TempDir()
	good := `{ me { kind } }`
	bad := graph.DocumentHash(`{ me { subject } }`)
	file := filepath.Join(dir, "trusted.json")
	if err := os.WriteFile(file, []byte(`{"`+graph.DocumentHash(good)+`": "`+good+`", "`+bad+`": "{ me { role } }"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trusted-documents", file}, `entry "` + bad + `"`},
		{[]string{"--trusted-documents", filepath.Join(dir, "absent.json")}, "--trusted-documents"},
		{[]string{"--trusted-documents", file, "--trusted-documents-for", "clerk"}, `entry "` + bad + `"`},
	} {
		data := filepath.Join(dir, "data")
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data}, tc.args...), &out, &errOut)
		if code := exitCode(err); code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v = %v (exit status %d), want status 2 and an error with %q", tc.args, err, code, tc.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("serve %v created its data directory before failing", tc.args)
		}
	}
	if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTrustedDocuments(file, "citizen, clerk"); err == nil || !strings.Contains(err.Error(), `"clerk" is not all or a kind`) {
		t.Errorf("loadTrustedDocuments(--trusted-documents-for citizen, clerk) = %v, want the bad kind named", err)
	}
}

// pagesOnly turns on the trusted-documents mode for every principal with an empty file: only the
// portal's and console's own documents run (and those govhub policy import sends).
func pagesOnly(t *testing.T, h *testHub) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "trusted.json")
	if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := loadTrustedDocuments(file, "all")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(web.Operations()) + len(cliDocuments()); docs.Len() != want {
		t.Fatalf("trusted documents = %d, want the pages' and the commands' %d", docs.Len(), want)
	}
	h.app.cfg.TrustedDocuments = docs
}

// checkPagesTrusted, after a browser test with pagesOnly, checks that the mode was on (a document
// of no page is refused) and that no document a page sent was refused (none is on the ledger as
// an untrusted document).
func checkPagesTrusted(t *testing.T, h *testHub, p auth.Principal) {
	t.Helper()
	trusted := h.app.handler()
	before, _ := h.entries()
	for _, e := range before {
		if e.Reason == "untrusted-document" {
			t.Errorf("a page's document was refused as untrusted (ledger entry by %s/%s at %v)", e.Department, e.Role, e.Time)
		}
	}
	c := &testHub{t: t, dir: h.dir, app: h.app, handler: trusted, gen: h.gen}
	w := c.post(http.Header{"Authorization": {"Bearer " + h.token(p)}, "Accept": {"application/graphql-response+json"}}, `{"query": "{ me { subject } }"}`)
	var r result
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusBadRequest ||
		len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != graph.CodeUntrustedDocument {
		t.Errorf("a document of no page = %d %s, want 400 UNTRUSTED_DOCUMENT", w.Code, w.Body)
	}
	after, _ := h.entries()
	if len(after) != len(before)+1 || after[len(after)-1].Reason != "untrusted-document" || after[len(after)-1].Outcome != ledger.OutcomeDenied {
		t.Errorf("the refusal was not put on the ledger (%d entries before, %d after)", len(before), len(after))
	}
}
