package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that use a hub's keys without being the hub never create keys or directories: a wrong or
// missing --data-dir is an error naming it.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	pseudonym := strings.Repeat("ab", 32)
	commands := [][]string{
		{"token", "--kind", "auditor", "--subject", "a-1"},
		{"ledger", "pubkey"},
		{"ledger", "verify"},
		{"ledger", "receipt", "--index", "0"},
		{"official", "resolve", "--department", "tax", pseudonym},
		{"policy", "export"},
	}
	for _, cmd := range commands {
		t.Run(strings.Join(cmd[:2], " ")+"/missing", func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "no", "such", "govhub-data")
			var out, errOut bytes.Buffer
			err := run(t.Context(), append(cmd, "--data-dir", dir), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("error = %v, want one naming %s", err, dir)
			}
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
			if _, err := os.Stat(filepath.Join(parent, "no")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("created a directory under %s (%v)", parent, err)
			}
		})
		t.Run(strings.Join(cmd[:2], " ")+"/not-a-hub", func(t *testing.T) {
			if cmd[0] == "policy" {
				t.Skip("policy export reads no keys; it opens the store")
			}
			dir := t.TempDir() // exists, but holds no keys
			var out, errOut bytes.Buffer
			err := run(t.Context(), append(cmd, "--data-dir", dir), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("error = %v, want one naming %s", err, dir)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("created %v in %s", entries[0].Name(), dir)
			}
		})
	}
}
