package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
)

// serveBeside serves the test hub over HTTP and leaves its address in the data directory, as
// govhub serve does, so that commands run beside it find it.
func serveBeside(t *testing.T, h *testHub) string {
	t.Helper()
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	unpublish, err := publishAddress(h.dir, srv.URL, h.config().TokenAudience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unpublish)
	return srv.URL
}

// Beside a running hub, `govhub policy export` reads the policy in force through the hub's
// database (read-only) as Casbin CSV; `govhub policy import` of an edited file proposes the
// difference to the hub as the officer whose token is given (another officer must approve it),
// never as one named on the command line, and never changes the policy by itself.
func TestPolicyExportImport(t *testing.T) {
	h := startHub(t, 2)
	serveBeside(t, h)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatalf("export beside the hub: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow") {
		t.Fatalf("export lacks a demo rule:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "read-only") {
		t.Errorf("export beside the hub does not say it reads through the hub's database: %q", errOut.String())
	}
	edited := out.String() + "p, clerk, housing, identity.birthDate, commit, home-purchase-eligibility, allow\n"
	file := filepath.Join(t.TempDir(), "rules.csv")
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenEnv, "")
	importWith := func(extra ...string) (string, error) {
		out.Reset()
		errOut.Reset()
		err := run(t.Context(), append([]string{"policy", "import", file, "--data-dir", h.dir, "--reason", "age check"}, extra...), &out, &errOut)
		return out.String(), err
	}
	if _, err := importWith(); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("import without a token = %v, want a refusal asking for one", err)
	}
	if _, err := importWith("--officer", "officer-1"); err == nil || !strings.Contains(err.Error(), "--officer is no longer accepted") {
		t.Errorf("import with --officer = %v, want a refusal", err)
	}
	if _, err := importWith("--token", h.token(housingClerk)); err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Errorf("import with a clerk's token = %v, want the hub's refusal", err)
	}
	said, err := importWith("--token", h.token(officer1))
	if err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	if !strings.Contains(said, "by officer-1") || !strings.Contains(said, "+1 −0 rules") || !strings.Contains(said, "identity.birthDate: deny → commit") {
		t.Errorf("import says %q", said)
	}
	// The token may come from the environment too; the same file again proposes again.
	t.Setenv(tokenEnv, h.token(officer2))
	if said, err := importWith(); err != nil || !strings.Contains(said, "by officer-2") {
		t.Errorf("import with $%s = %q, %v", tokenEnv, said, err)
	}
	// The policy in force is unchanged until another officer approves.
	out.Reset()
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "identity.birthDate, commit") || !strings.Contains(out.String(), "# version: 1") {
		t.Errorf("the import changed the policy in force:\n%s", out.String())
	}
	// With the hub stopped, a proposal has nowhere to go; the export opens the database itself.
	tok := h.token(officer1)
	h.close()
	if _, err := importWith("--token", tok); err == nil || !strings.Contains(err.Error(), "no hub is running") {
		t.Errorf("import with no hub = %v, want a refusal saying so", err)
	}
	out.Reset()
	errOut.Reset()
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), "# version: 1") {
		t.Errorf("export with the hub stopped = %v %s", err, errOut.String())
	}
}

// `govhub status` asks the running hub's operator endpoint, with an operator token it mints from
// the data directory's issuer key (or one it is given); other tokens are refused there.
func TestStatusBesideHub(t *testing.T) {
	h := startHub(t, 1)
	url := serveBeside(t, h)
	t.Setenv(tokenEnv, "")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"status", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatalf("status: %v %s", err, errOut.String())
	}
	for _, want := range []string{url, "embedded store", "leading", "integrated:", "published:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	for _, p := range []auth.Principal{auditor, officer1, housingClerk, citizenP("C000001")} {
		err := run(t.Context(), []string{"status", "--hub", url, "--token", h.token(p)}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("status with a %s token = %v, want 403", p.Kind, err)
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"status", "--hub", url, "--token", h.token(operator), "--json"}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), `"store":"embedded"`) {
		t.Errorf("status --json = %q, %v", out.String(), err)
	}
	h.close()
	if err := run(t.Context(), []string{"status", "--data-dir", h.dir}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no hub is running") {
		t.Errorf("status with no hub = %v", err)
	}
}

// With the trusted-documents mode on for every principal, `govhub policy import` still works (its
// documents are registered with every set), and `govhub bench` runs once the documents it prints
// with --documents are in the file.
func TestCommandsUnderTrustedDocuments(t *testing.T) {
	h := startHub(t, 5)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"bench", "--documents"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "trusted.json")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := loadTrustedDocuments(file, "all")
	if err != nil {
		t.Fatalf("bench --documents printed a file the hub refuses: %v\n%s", err, out.String())
	}
	h.app.cfg.TrustedDocuments = docs
	h.handler = h.app.handler()
	serveBeside(t, h)
	t.Setenv(tokenEnv, "")

	out.Reset()
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "rules.csv")
	if err := os.WriteFile(csv, append(out.Bytes(), "p, clerk, housing, identity.birthDate, commit, home-purchase-eligibility, allow\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"policy", "import", csv, "--data-dir", h.dir, "--reason", "age check", "--token", h.token(officer1)}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "by officer-1") {
		t.Errorf("policy import under trusted documents = %v: %s %s", err, out.String(), errOut.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"bench", "--data-dir", h.dir, "--duration", "1s", "--concurrency", "2", "--citizens", "5"}, &out, &errOut); err != nil {
		t.Errorf("bench under trusted documents = %v:\n%s", err, out.String())
	}
}

// The predicate catalogue goes with the rules that grant its predicates: `policy export
// --predicates` writes it, `policy import --predicates` imports it into an empty store (without it
// the prove rules name predicates nobody defined, and the import is refused), and a file that adds
// a predicate and its grant is proposed as such.
func TestPolicyExportImportPredicates(t *testing.T) {
	h := startHub(t, 1)
	dir := t.TempDir()
	rules, preds, purposes := filepath.Join(dir, "rules.csv"), filepath.Join(dir, "predicates.json"), filepath.Join(dir, "purposes.json")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "--predicates") {
		t.Errorf("an export without --predicates of a policy with a catalogue does not say so: %q", errOut.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir, "--predicates", preds, "--purposes", purposes}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rules, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(preds); !strings.Contains(string(b), "atLeast60") {
		t.Fatalf("the exported catalogue lacks the demo's predicate: %s", b)
	}
	d1 := t.TempDir()
	if err := run(t.Context(), []string{"policy", "import", rules, "--data-dir", d1, "--purposes", purposes}, &out, &errOut); err == nil {
		t.Errorf("import of prove rules without their catalogue into an empty store = nil error")
	}
	d2 := t.TempDir()
	out.Reset()
	if err := run(t.Context(), []string{"policy", "import", rules, "--data-dir", d2, "--purposes", purposes, "--predicates", preds}, &out, &errOut); err != nil {
		t.Fatalf("import with the catalogue into an empty store: %v %s", err, errOut.String())
	}

	// A proposal that adds a predicate and its grant, beside the running hub.
	serveBeside(t, h)
	withMore := strings.Replace(mustRead(t, preds), "]", `,{"name":"atLeast12","field":"socialInsurance.contributionMonths","statement":{"kind":"atLeast","min":12,"max":0}}]`, 1)
	if err := os.WriteFile(preds, []byte(withMore), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := mustRead(t, rules) + "p, clerk, housing, socialInsurance.contributionMonths:atLeast12, prove, home-purchase-eligibility, allow\n"
	if err := os.WriteFile(rules, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"policy", "import", rules, "--data-dir", h.dir, "--predicates", preds, "--reason", "a shorter record", "--token", h.token(officer1)}, &out, &errOut); err != nil {
		t.Fatalf("proposal with a predicate: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "+1 −0 rules") {
		t.Errorf("proposal says %q", out.String())
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
