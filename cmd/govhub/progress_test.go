package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// The progress line is rewritten in place at most every progressInterval, says done/total, the
// rate and the time left, and is erased when the next stage starts or the pass ends.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{w: &buf, now: func() time.Time { return now }}
	report := p.stage("entries pass:", "entries")
	for done := uint64(0); done <= 1000; done += 10 { // 100 calls, 10 ms apart: one second
		report(done, 1000)
		now = now.Add(10 * time.Millisecond)
	}
	out := buf.String()
	if n := strings.Count(out, "\r"); n < 2 || n > 5 {
		t.Errorf("%d rewrites in one second, want 2 to 4 (every %s): %q", n, progressInterval, out)
	}
	if want := "\rentries pass: 250/1000 entries (25%), 1000/s, ETA 1s\x1b[K"; !strings.Contains(out, want) {
		t.Errorf("progress output = %q, want it to contain %q", out, want)
	}
	buf.Reset()
	p.stage("records pass:", "records")
	if buf.String() != "\r\x1b[K" {
		t.Errorf("a new stage wrote %q, want the line erased", buf.String())
	}
	buf.Reset()
	p.clear()
	if buf.Len() != 0 {
		t.Errorf("clearing an erased line wrote %q", buf.String())
	}
}

// Progress is printed only to a terminal (a character device), and not with --quiet.
func TestProgressOnlyOnATerminal(t *testing.T) {
	if newProgress(&bytes.Buffer{}, false) != nil {
		t.Error("newProgress(a buffer) prints; want nothing off a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if newProgress(w, false) != nil {
		t.Error("newProgress(a pipe) prints; want nothing off a terminal")
	}
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if newProgress(dev, false) == nil {
		t.Errorf("newProgress(%s, a character device) prints nothing", os.DevNull)
	}
	if newProgress(dev, true) != nil {
		t.Error("newProgress(quiet) prints")
	}
	var nothing *progress // what newProgress returns when quiet: every method is a no-op
	nothing.stage("x", "y")(1, 2)
	nothing.clear()
}

// `govhub ledger verify --quiet`, or with standard error not a terminal, prints nothing there and
// still verifies.
func TestLedgerVerifyQuiet(t *testing.T) {
	h := startHub(t, 4)
	h.close()
	for _, args := range [][]string{{"--quiet"}, nil} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"ledger", "verify", "--data-dir", h.dir}, args...), &out, &errOut)
		if err != nil || !strings.Contains(out.String(), "records match") {
			t.Fatalf("verify %v = %q, %v; want OK", args, out.String(), err)
		}
		if errOut.Len() != 0 {
			t.Errorf("verify %v wrote %q to standard error, want nothing", args, errOut.String())
		}
	}
}
