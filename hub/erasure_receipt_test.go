package hub

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
)

// fixedReader is a deterministic byte stream (SHA-256 in counter mode over a label).
type fixedReader struct {
	label string
	n     byte
}

func (r *fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		if i%32 == 0 {
			r.n++
		}
		d := sha256.Sum256([]byte{r.n})
		p[i] = d[i%32] ^ r.label[i%len(r.label)]
	}
	return len(p), nil
}

// testLogKey is a fixed log key for the golden receipt.
func testLogKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(&fixedReader{label: "govhub erasure receipt test"}, "govhub.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// testErasureReceipt is a receipt for an erasure entry of citizen under a fixed salt, in a log of
// one entry signed by s.
func testErasureReceipt(t testing.TB, s note.Signer, citizen string) []byte {
	t.Helper()
	salt := bytes.Repeat([]byte{0x1a}, 32)
	raw, err := ledger.FormatEntry(ledger.Entry{Kind: ledger.KindErasure, Time: mustTime(t, "2026-12-08T10:00:00Z"), Department: "privacy-office",
		Role: "officer", Policy: 9, Outcome: ledger.OutcomeAllowed, Reason: ErasureReason,
		Record: ErasureDigest(bytes.Repeat([]byte{7}, 32), citizen), Subjects: [][]byte{subject.Commit(salt, citizen)}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.SignCheckpoint(s, 1, ledger.LeafHash(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := FormatErasureReceipt(ErasureReceipt{Index: 0, Salt: salt, Destroyed: Destroyed,
		Proof: ledger.Proof{Extra: raw, Index: 0, Checkpoint: cp.Note}}, s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestErasureReceiptGolden(t *testing.T) {
	s, v := testLogKey(t)
	got := testErasureReceipt(t, s, "C000042")
	golden := filepath.Join("testdata", "erasure-receipt-v1.txt")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("FormatErasureReceipt =\n%s\nwant (testdata, -update to rewrite)\n%s", got, want)
	}
	r, e, cp, err := CheckErasureReceipt(want, ledger.SingleKey(v), nil, 0, "C000042")
	if err != nil || r.Index != 0 || e.Kind != ledger.KindErasure || cp.Size != 1 || !reflect.DeepEqual(r.Destroyed, Destroyed) {
		t.Fatalf("CheckErasureReceipt(golden) = %+v, %+v, %v", r, cp, err)
	}
}

// TestErasureReceiptBeforeSealed: a receipt issued before the sealed-details token was added
// (the same signer and entry) still verifies, and states nothing about sealed accesses.
func TestErasureReceiptBeforeSealed(t *testing.T) {
	_, v := testLogKey(t)
	old, err := os.ReadFile(filepath.Join("testdata", "erasure-receipt-v1-before-sealed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r, _, _, err := CheckErasureReceipt(old, ledger.SingleKey(v), nil, 0, "C000042")
	if err != nil || slices.Contains(r.Destroyed, SealedDetailsDestroyed) || !slices.Contains(r.Destroyed, "data-key") {
		t.Fatalf("CheckErasureReceipt(older receipt) = %v, %v", r.Destroyed, err)
	}
	if !slices.Contains(Destroyed, SealedDetailsDestroyed) {
		t.Errorf("Destroyed = %v, want %s on every new receipt", Destroyed, SealedDetailsDestroyed)
	}
}

func TestCheckErasureReceiptRefuses(t *testing.T) {
	s, v := testLogKey(t)
	good := testErasureReceipt(t, s, "C000042")
	_, otherV := func() (note.Signer, note.Verifier) {
		skey, vkey, _ := note.GenerateKey(&fixedReader{label: "another log"}, "govhub.test/ledger")
		osig, _ := note.NewSigner(skey)
		ov, _ := note.NewVerifier(vkey)
		return osig, ov
	}()
	for _, tc := range []struct {
		name    string
		data    []byte
		log     note.Verifier
		citizen string
	}{
		{"another citizen", good, v, "C000043"},
		{"another log key", good, otherV, "C000042"},
		{"altered salt", bytes.Replace(good, []byte("salt 1a"), []byte("salt 1b"), 1), v, ""},
		{"altered destroyed", bytes.Replace(good, []byte("data-key "), []byte(""), 1), v, ""},
		{"truncated", good[:len(good)/2], v, ""},
		{"empty", nil, v, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := CheckErasureReceipt(tc.data, ledger.SingleKey(tc.log), nil, 0, tc.citizen); !errors.Is(err, ErrBadErasureReceipt) {
				t.Errorf("CheckErasureReceipt = %v, want ErrBadErasureReceipt", err)
			}
		})
	}
	// A receipt whose entry is not an erasure, signed by the log all the same.
	raw, _ := ledger.FormatEntry(ledger.Entry{Kind: ledger.KindAccess, Time: mustTime(t, "2026-12-08T10:00:00Z"), Department: "housing", Role: "clerk",
		Policy: 9, Outcome: ledger.OutcomeAllowed, Subjects: [][]byte{bytes.Repeat([]byte{1}, 32)}})
	cp, _ := ledger.SignCheckpoint(s, 1, ledger.LeafHash(raw))
	access, err := FormatErasureReceipt(ErasureReceipt{Salt: bytes.Repeat([]byte{0x1a}, 32), Destroyed: Destroyed, Proof: ledger.Proof{Extra: raw, Checkpoint: cp.Note}}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := CheckErasureReceipt(access, ledger.SingleKey(v), nil, 0, ""); !errors.Is(err, ErrBadErasureReceipt) {
		t.Errorf("CheckErasureReceipt(an access entry) = %v, want ErrBadErasureReceipt", err)
	}
}

// FuzzParseErasureReceipt: parsing untrusted bytes never panics, and what parses formats back to
// a receipt that parses to the same value.
func FuzzParseErasureReceipt(f *testing.F) {
	s, v := testLogKey(f)
	golden, err := os.ReadFile(filepath.Join("testdata", "erasure-receipt-v1.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(testErasureReceipt(f, s, "C000001"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseErasureReceipt(data, ledger.SingleKey(v))
		if err != nil {
			return
		}
		again, err := FormatErasureReceipt(r, s)
		if err != nil {
			t.Fatalf("FormatErasureReceipt(parsed) = %v", err)
		}
		r2, err := ParseErasureReceipt(again, ledger.SingleKey(v))
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
