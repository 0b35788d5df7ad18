package bench_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
)

// TestWorkload runs a small workload against both logs and checks what the benchmarks rely on:
// every append got its own index, a published checkpoint verifying under the log key covers all
// of them, and its root is the RFC 6962 root of exactly the workload's entries in index order.
func TestWorkload(t *testing.T) {
	const n, c = 100, 4
	for _, tc := range []struct {
		name string
		open func(testing.TB) target
	}{
		{"tessera-posix", func(tb testing.TB) target { return openTessera(tb, c, tesseraMaxAge) }},
		{"govhub-ledger", openGovhub},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t.Context(), tc.open(t), n, c, func() {}, func() {})
			if err != nil {
				t.Fatalf("run = %v", err)
			}
			leaves := make([][]byte, n)
			for idx, i := range res.entryAt {
				if leaves[idx], err = ledger.FormatEntry(entry(i)); err != nil {
					t.Fatal(err)
				}
			}
			if want := rfc6962Root(t, leaves); res.final.Size != n || res.final.Root != want {
				t.Errorf("final checkpoint = size %d root %v, want size %d root %v", res.final.Size, res.final.Root, n, want)
			}
			for i, d := range res.latency {
				if d <= 0 {
					t.Errorf("latency of entry %d = %v, want > 0", i, d)
				}
			}
			for idx, d := range res.inclusion {
				if d <= 0 {
					t.Errorf("inclusion time of index %d = %v, want > 0", idx, d)
				}
			}
			if res.elapsed <= 0 {
				t.Errorf("elapsed = %v, want > 0", res.elapsed)
			}
		})
	}
}

// rfc6962Root computes the tree hash with sumdb/tlog, independently of both logs.
func rfc6962Root(t *testing.T, leaves [][]byte) tlog.Hash {
	t.Helper()
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	h, err := tlog.TreeHash(int64(len(leaves)), r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEntrySizeConstant(t *testing.T) {
	want := entrySize(t)
	for _, i := range []int{0, 1, 9, 10, 99, 12345, 19999, 1 << 30} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			data, err := ledger.FormatEntry(entry(i))
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != want {
				t.Errorf("len(FormatEntry(entry(%d))) = %d, want %d", i, len(data), want)
			}
		})
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
	var oneToHundred []time.Duration
	for v := 100; v >= 1; v-- {
		oneToHundred = append(oneToHundred, time.Duration(v)*time.Millisecond)
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
		{"p99 of 1…100", oneToHundred, 99, 99 * time.Millisecond},
		{"p0 is the minimum", ms(3, 2, 9), 0, 2 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tc.ds...)
			if got := percentile(tc.ds, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %d) = %v, want %v", tc.ds, tc.p, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.ds[i] {
					t.Fatalf("percentile changed its input")
				}
			}
		})
	}
}
