package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
)

func TestEntryMakerSizes(t *testing.T) {
	typical := typicalEntrySize()
	smallest := typical - len(typicalPurpose) + 1
	for _, size := range []int{0, typical, smallest, smallest + 1, smallest + 127, smallest + 128,
		smallest + 127 + padMinLine - 1, smallest + 127 + padMaxLine, smallest + 127 + padMaxLine + 1,
		1000, 4096, 65_000, ledger.MaxEntrySize} {
		want := size
		if size == 0 {
			want = typical
		}
		m, err := newEntryMaker(size)
		if err != nil {
			t.Fatalf("newEntryMaker(%d) = %v", size, err)
		}
		seen := map[string]bool{}
		for i := range uint64(3) {
			data, err := ledger.FormatEntry(m.entry(i, time.Date(2026, 11, 21, 6, 30, 5, 120_000_000, time.UTC)))
			if err != nil {
				t.Fatalf("FormatEntry(entry %d of size %d) = %v", i, size, err)
			}
			if len(data) != want {
				t.Errorf("len(FormatEntry(entry %d of size %d)) = %d, want %d", i, size, len(data), want)
			}
			if _, err := ledger.ParseEntry(data); err != nil {
				t.Errorf("ParseEntry(entry %d of size %d) = %v", i, size, err)
			}
			if seen[string(data)] {
				t.Errorf("entry %d of size %d repeats an earlier one", i, size)
			}
			seen[string(data)] = true
		}
	}
	for _, size := range []int{-1, 1, smallest - 1, ledger.MaxEntrySize + 1} {
		if _, err := newEntryMaker(size); err == nil {
			t.Errorf("newEntryMaker(%d) = nil error, want one", size)
		}
	}
}

// The default entry is the typical access entry the bench module's Tessera comparison uses.
func TestTypicalEntrySize(t *testing.T) {
	if got, want := typicalEntrySize(), 368; got != want {
		t.Errorf("typicalEntrySize() = %d, want %d", got, want)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		var ds []time.Duration
		for _, v := range vs {
			ds = append(ds, time.Duration(v)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		p    int
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median of even takes the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p90 of ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9 * time.Millisecond},
		{"p100 is the maximum", ms(3, 12, 9), 100, 12 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.ds, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %d) = %v, want %v", tc.ds, tc.p, got, tc.want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "ledgerload"},
		{[]string{"--duration", "20s"}, "ledgerload --duration 20s"},
		{[]string{"--dir", "/tmp/a b"}, "ledgerload --dir '/tmp/a b'"},
		{[]string{"--dir", "it's"}, `ledgerload --dir 'it'\''s'`},
		{[]string{""}, "ledgerload ''"},
	} {
		if got := commandLine("ledgerload", tc.args); got != tc.want {
			t.Errorf("commandLine(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "0s"},
		{"--callers", "0"},
		{"--witnesses", "3", "--quorum", "4"},
		{"--witnesses", "2", "--quorum", "0"},
		{"--low-load-rate", "0"},
		{"--warmup", "-1s"},
		{"--entry-size", "10"},
		{"--max-batch", "0"},
		{"--no-such-flag"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), args, &stdout, &stderr)
			var usage usageError
			if !errors.As(err, &usage) {
				t.Errorf("run(%q) = %v, want a usage error", args, err)
			}
		})
	}
}

// A short run with and without witnesses: every check the command makes at the end passes, and
// the report has its parts.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"witnesses", []string{"--witnesses", "3", "--quorum", "2"}},
		{"no witnesses", []string{"--witnesses", "0", "--entry-size", "1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--duration", "500ms", "--warmup", "200ms", "--callers", "16",
				"--low-load-rate", "50", "--low-load-duration", "200ms"}, tc.args...)
			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), args, &stdout, &stderr); err != nil {
				t.Fatalf("run(%q) = %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{
				"command: " + commandLine("ledgerload", args),
				"insert", "low load", "saturation",
				"every index below it and given once: true",
				"consistent",
				"sustained throughput",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("run(%q) printed no %q:\n%s", args, want, out)
				}
			}
			if strings.Contains(out, "warm-up") {
				t.Errorf("run(%q) reported the warm-up:\n%s", args, out)
			}
		})
	}
}
