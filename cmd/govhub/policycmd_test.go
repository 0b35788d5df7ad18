package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `govhub policy export` writes the policy in force as Casbin CSV; `govhub policy import` of an
// edited file proposes the difference (another officer must approve it), never changes the policy
// by itself.
func TestPolicyExportImport(t *testing.T) {
	h := startHub(t, 2)
	h.close()
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatalf("export: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow") {
		t.Fatalf("export lacks a demo rule:\n%s", out.String())
	}
	edited := out.String() + "p, clerk, housing, identity.birthDate, commit, home-purchase-eligibility, allow\n"
	file := filepath.Join(t.TempDir(), "rules.csv")
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	err := run(t.Context(), []string{"policy", "import", file, "--data-dir", h.dir}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--officer") {
		t.Errorf("import without an officer = %v, want a refusal asking for --officer and --reason", err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"policy", "import", file, "--data-dir", h.dir, "--officer", "officer-1", "--reason", "age check"}, &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "+1 −0 rules") || !strings.Contains(out.String(), "identity.birthDate: deny → commit") {
		t.Errorf("import says %q", out.String())
	}
	// The policy in force is unchanged until another officer approves.
	out.Reset()
	if err := run(t.Context(), []string{"policy", "export", "--data-dir", h.dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "identity.birthDate") || !strings.Contains(out.String(), "# version: 1") {
		t.Errorf("the import changed the policy in force:\n%s", out.String())
	}
}
