package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/demo"
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

// A mistake names what would have been right.
func TestMistakesListTheChoices(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"policy", "bogus"}, "want export or import"},
		{[]string{"ledger", "check-receipt"}, "check-receipt FILE"},
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), tc.args, &out, &errOut)
		if code := exitCode(err); code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v = %v (exit status %d), want status 2 and an error with %q", tc.args, err, code, tc.want)
		}
	}
}

// With its port taken, the demo fails at once, before it creates its data directory or seeds
// anything.
func TestDemoBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	start := time.Now()
	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"demo", "--addr", ln.Addr().String(), "--data-dir", dir, "--citizens", "5"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "listening on "+ln.Addr().String()) {
		t.Fatalf("demo on a busy port = %v, want a listening error", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after failing to listen, Stat(data dir) = %v, want it not created", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("demo on a busy port failed after %v, want at once", took)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The example the demo prints, run as printed, answers with every dataset the housing clerk may
// see: its citizen is one of those with every record.
func TestDemoPrintedExample(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo")
	}
	addr := "127.0.0.1:0" // the demo prints the port it took
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", addr, "--data-dir", t.TempDir(), "--citizens", "12", "--log-level", "warn"}, &out, &errOut)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo = %v", err)
		}
	}()
	curl := regexp.MustCompile(`(?s)curl -s (\S+) -H "Authorization: Bearer \$HOUSING_TOKEN".*?-d '([^\n]*)'\n`)
	var m []string
	for deadline := time.Now().Add(2 * time.Minute); m == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no example:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
		m = curl.FindStringSubmatch(out.String())
	}
	// Output that is not a terminal names the tokens file instead of printing tokens.
	file := regexp.MustCompile(`are in (\S+) \(mode 0600`).FindStringSubmatch(out.String())
	if file == nil {
		t.Fatalf("the demo names no tokens file:\n%s", out.String())
	}
	tokens, err := os.ReadFile(file[1])
	if err != nil {
		t.Fatal(err)
	}
	tok := regexp.MustCompile(`HOUSING_TOKEN=(\S+)`).FindStringSubmatch(string(tokens))
	if tok == nil {
		t.Fatalf("no HOUSING_TOKEN in %s:\n%s", file[1], tokens)
	}
	var body struct {
		Variables struct{ ID string }
	}
	if err := json.Unmarshal([]byte(m[2]), &body); err != nil {
		t.Fatalf("the printed body %s: %v", m[2], err)
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(body.Variables.ID, "C")); err != nil || n < 1 || n > demo.Showcase {
		t.Errorf("the example is about %s, not one of the first %d citizens", body.Variables.ID, demo.Showcase)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, m[1], strings.NewReader(m[2]))
	req.Header.Set("Authorization", "Bearer "+tok[1])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Data struct {
			Citizen map[string]any
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	// The housing clerk sees these (the rest is refused by the policy, at its path).
	for _, ds := range []string{"identity", "marriage", "property", "socialInsurance", "tax"} {
		if res.Data.Citizen[ds] == nil {
			t.Errorf("the example's answer has no %s: %v", ds, res.Data.Citizen)
		}
	}
}
