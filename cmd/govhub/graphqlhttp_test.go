package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
)

// The hub's GraphQL endpoint passes the graphql-http audit of the GraphQL over HTTP specification
// (the npm package graphql-http, at the version testdata/graphql-http/package-lock.json pins),
// run by Node against the real hub over HTTP with an auditor's token: no MUST fails and no SHOULD
// warns (notices, of MAY requirements, are logged).
// Without node and npm the test skips, naming what is missing, unless CI=true: then it fails.
func TestGraphQLHTTPAudit(t *testing.T) {
	var missing []string
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "the graphql-http audit needs " + strings.Join(missing, " and ") + " on PATH"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true; .ci/run installs Debian's nodejs and npm)")
		}
		t.Skip(msg)
	}

	// Install the pinned audit into a temporary directory (npm ci: exactly the lock file).
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "audit.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "graphql-http", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	npm := exec.CommandContext(t.Context(), "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci of the graphql-http audit: %v\n%s", err, out)
	}

	h := startHub(t, 2)
	url := serveBeside(t, h) + "/graphql"
	token := h.token(auth.Principal{Kind: auth.KindAuditor, Subject: "graphql-http-audit"})

	var stdout, stderr bytes.Buffer
	node := exec.CommandContext(t.Context(), "node", "audit.mjs", url, token)
	node.Dir = dir
	node.Stdout, node.Stderr = &stdout, &stderr
	node.WaitDelay = 5 * time.Second
	if err := node.Run(); err != nil {
		t.Fatalf("node audit.mjs: %v\n%s", err, stderr.String())
	}
	var results []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Status      string `json:"status"`
		Reason      string `json:"reason"`
		HTTPStatus  int    `json:"httpStatus"`
		ContentType string `json:"contentType"`
		Body        string `json:"body"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("decoding the audit's results: %v\n%s", err, stdout.String())
	}
	if len(results) == 0 {
		t.Fatal("the audit ran no audits")
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		if r.Status == "notice" {
			t.Logf("notice %s %s: %s", r.ID, r.Name, r.Reason)
		}
		if r.Status == "ok" || r.Status == "notice" {
			continue
		}
		t.Errorf("%s %s [%s]: %s\n\tHTTP %d, Content-Type %q: %s", r.ID, r.Name, r.Status, r.Reason, r.HTTPStatus, r.ContentType, r.Body)
	}
	t.Logf("graphql-http audit: %d audits, %d ok, %d notices, %d warnings, %d errors",
		len(results), counts["ok"], counts["notice"], counts["warn"], counts["error"])
}
