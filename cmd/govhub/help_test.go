package main

import (
	"bytes"
	"strings"
	"testing"
)

// Help is asked for in the ways people ask for it, and answers with exit status 0.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // in stdout and stderr together
		not  []string
	}{
		{args: []string{"-h"}, want: []string{"usage: govhub <command>", "ledger verify"}},
		{args: []string{"--help"}, want: []string{"usage: govhub <command>"}},
		{args: []string{"help"}, want: []string{"usage: govhub <command>"}},
		{args: []string{"ledger", "--help"}, want: []string{"verify", "pubkey", "receipt", "check-receipt"}},
		{args: []string{"ledger", "-h"}, want: []string{"check-receipt"}},
		{args: []string{"policy", "--help"}, want: []string{"export", "import"}},
		{args: []string{"official", "--help"}, want: []string{"resolve"}},
		{args: []string{"token", "-h"}, want: []string{"-kind", "-token-audience", "-max-token-ttl"}},
		{args: []string{"keygen", "--help"}, want: []string{"-name"}},
		{args: []string{"witness", "-h"}, want: []string{"-log-key"}},
		{args: []string{"ledger", "verify", "-h"}, want: []string{"-data-dir"}},
		{args: []string{"ledger", "check-receipt", "-h"}, want: []string{"check-receipt FILE", "-log-key"}},
		{args: []string{"policy", "import", "-h"}, want: []string{"-reason"}},
		{args: []string{"official", "resolve", "-h"}, want: []string{"PSEUDONYM", "-department"}},
		{args: []string{"serve", "-h"}, want: []string{"-addr", "-witness", "-token-audience", "-max-token-ttl"}, not: []string{"-citizens", "-seed", "\n  -token-ttl"}},
		{args: []string{"demo", "-h"}, want: []string{"-citizens", "-seed", "-token-ttl"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tc.args, &out, &errOut)
			if code := exitCode(err); err != nil && code != 0 {
				t.Errorf("exit status %d (%v), want 0", code, err)
			}
			all := out.String() + errOut.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("help lacks %q:\n%s", w, all)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(all, n) {
					t.Errorf("help lists %q:\n%s", n, all)
				}
			}
		})
	}
	// Subcommand lists go to stdout, where a pager or grep finds them.
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "--help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "check-receipt") {
		t.Errorf("ledger --help = %v, stdout %q", err, out.String())
	}
	// Mistakes still fail with status 2, and show the subcommands.
	for _, args := range [][]string{{"ledger", "bogus"}, {"policy"}, {"official", "bogus"}, {"serve", "--citizens", "5"}, {"nope"}} {
		var out, errOut bytes.Buffer
		if code := exitCode(run(t.Context(), args, &out, &errOut)); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}
