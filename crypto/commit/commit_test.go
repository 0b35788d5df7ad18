package commit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// commitNoTable is the plain computation m·G + r·H with two variable-base
// scalar multiplications, the reference for the tables.
func commitNoTable(m Message, r Blinding) Commitment {
	gens := fixedGenerators()
	var v, s big.Int
	m.s.BigInt(&v)
	s.SetBytes(r[:])
	var a, b bls12381.G1Affine
	a.ScalarMultiplication(&gens.g, &v)
	b.ScalarMultiplication(&gens.h, &s)
	a.Add(&a, &b)
	return a.Bytes()
}

func mustString(t testing.TB, s string) Message {
	t.Helper()
	m, err := String(s)
	if err != nil {
		t.Fatalf("String(%q): %v", s, err)
	}
	return m
}

func mustDate(t testing.TB, s string) Message {
	t.Helper()
	m, err := Date(s)
	if err != nil {
		t.Fatalf("Date(%q): %v", s, err)
	}
	return m
}

func mustBlinding(t testing.TB, rng io.Reader) Blinding {
	t.Helper()
	r, err := NewBlinding(rng)
	if err != nil {
		t.Fatalf("NewBlinding: %v", err)
	}
	return r
}

// seeded returns a deterministic source of test randomness.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func scalarFromBig(t testing.TB, n *big.Int) fr.Element {
	t.Helper()
	var s fr.Element
	if err := s.SetBytesCanonical(n.FillBytes(make([]byte, fr.Bytes))); err != nil {
		t.Fatalf("scalar %x: %v", n, err)
	}
	return s
}

// TestTableMatchesReference checks the fixed-base tables against gnark's
// variable-base multiplication on edge and random scalars.
func TestTableMatchesReference(t *testing.T) {
	q := fr.Modulus()
	one := big.NewInt(1)
	pow := func(n uint) *big.Int { return new(big.Int).Lsh(one, n) }
	sub := func(a *big.Int, b int64) *big.Int { return new(big.Int).Sub(a, big.NewInt(b)) }
	repeat := func(b byte) *big.Int { // every byte b, below q
		return new(big.Int).SetBytes(bytes.Repeat([]byte{b}, 31))
	}
	scalars := map[string]*big.Int{
		"0":            big.NewInt(0),
		"1":            big.NewInt(1),
		"127":          big.NewInt(127),
		"128":          big.NewInt(128),
		"129":          big.NewInt(129),
		"255":          big.NewInt(255),
		"256":          big.NewInt(256),
		"2^248-1":      sub(pow(248), 1), // every window carries
		"2^254":        pow(254),
		"q-1":          sub(q, 1),
		"q-2":          sub(q, 2),
		"q-128":        sub(q, 128),
		"bytes 0x80":   repeat(0x80),
		"bytes 0x81":   repeat(0x81),
		"bytes 0x7f":   repeat(0x7f),
		"bytes 0xff01": new(big.Int).SetBytes(bytes.Repeat([]byte{0xff, 0x01}, 15)),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		n := new(big.Int).SetBytes(b[:])
		scalars[fmt.Sprintf("random %d", i)] = n.Mod(n, q)
	}
	gens := fixedGenerators()
	bases := []struct {
		name  string
		point *bls12381.G1Affine
		table *baseTable
	}{
		{"G", &gens.g, gens.gTable},
		{"H", &gens.h, gens.hTable},
	}
	for _, base := range bases {
		for name, n := range scalars {
			t.Run(base.name+"/"+name, func(t *testing.T) {
				s := scalarFromBig(t, n)
				acc := infinity()
				base.table.mulAdd(&acc, &s)
				var got, want bls12381.G1Affine
				got.FromJacobian(&acc)
				want.ScalarMultiplication(base.point, n)
				if !got.Equal(&want) {
					t.Errorf("table %s·%s = %s, want %s", name, base.name, got.String(), want.String())
				}
			})
		}
	}
}

func TestCommitMatchesReference(t *testing.T) {
	rng := seeded(1)
	msgs := []Message{Int(0), Int(1), Int(-1), Int(123456789), mustString(t, "x"), mustDate(t, "2001-09-11")}
	for i, m := range msgs {
		for range 5 {
			r := mustBlinding(t, rng)
			if got, want := Commit(m, r), commitNoTable(m, r); got != want {
				t.Errorf("Commit(msgs[%d], r) = %s, want %s", i, got, want)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	rng := seeded(2)
	r := mustBlinding(t, rng)
	other := mustBlinding(t, rng)
	tests := []struct {
		name      string
		committed Message
		opened    Message
		r         Blinding
		want      error
	}{
		{"int", Int(42), Int(42), r, nil},
		{"negative int", Int(-42), Int(-42), r, nil},
		{"string", mustString(t, "张三"), mustString(t, "张三"), r, nil},
		{"date", mustDate(t, "1990-05-17"), mustDate(t, "1990-05-17"), r, nil},
		{"wrong int", Int(42), Int(43), r, ErrMismatch},
		{"sign", Int(42), Int(-42), r, ErrMismatch},
		{"wrong string", mustString(t, "张三"), mustString(t, "张四"), r, ErrMismatch},
		{"wrong date", mustDate(t, "1990-05-17"), mustDate(t, "1990-05-18"), r, ErrMismatch},
		{"wrong blinding", Int(42), Int(42), other, ErrMismatch},
		{"date opened as string", mustDate(t, "2020-01-02"), mustString(t, "2020-01-02"), r, ErrMismatch},
		{"string opened as date", mustString(t, "2020-01-02"), mustDate(t, "2020-01-02"), r, ErrMismatch},
		{"int opened as string", Int(5), mustString(t, "5"), r, ErrMismatch},
		{"zero blinding", Int(42), Int(42), Blinding{}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Commit(tt.committed, r)
			if err := Verify(c, tt.opened, tt.r); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify(Commit(%s), opening) = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestVerifyRejectsOtherCommitment(t *testing.T) {
	rng := seeded(3)
	r := mustBlinding(t, rng)
	c := Commit(Int(7), r)
	c[len(c)-1] ^= 1
	if err := Verify(c, Int(7), r); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(tampered, 7, r) = %v, want %v", err, ErrMismatch)
	}
}

func TestCommitHides(t *testing.T) {
	rng := seeded(4)
	m := Int(1)
	a, b := Commit(m, mustBlinding(t, rng)), Commit(m, mustBlinding(t, rng))
	if a == b {
		t.Errorf("two commitments to the same value with fresh blindings are equal: %s", a)
	}
}

func TestCommitPanicsOnInvalidBlinding(t *testing.T) {
	q := fr.Modulus().FillBytes(make([]byte, 32))
	for name, r := range map[string]Blinding{"zero": {}, "q": Blinding(q)} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Commit(Int(1), %s) did not panic", name)
				}
			}()
			Commit(Int(1), r)
		})
	}
}

// TestHomomorphism checks C(a, r1) + C(b, r2) = C(a+b, r1+r2) for integers.
func TestHomomorphism(t *testing.T) {
	rng := seeded(5)
	tests := []struct{ a, b int64 }{
		{1, 2}, {0, 0}, {-5, 3}, {-5, -6}, {1 << 40, 1 << 41}, {-1 << 62, -1 << 62 / 2},
	}
	for _, tt := range tests {
		r1, r2 := mustBlinding(t, rng), mustBlinding(t, rng)
		var s1, s2, sum fr.Element
		s1.SetBytes(r1[:])
		s2.SetBytes(r2[:])
		sum.Add(&s1, &s2)
		r := Blinding(sum.Bytes())

		var p1, p2 bls12381.G1Affine
		c1, c2 := Commit(Int(tt.a), r1), Commit(Int(tt.b), r2)
		if _, err := p1.SetBytes(c1[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.SetBytes(c2[:]); err != nil {
			t.Fatal(err)
		}
		p1.Add(&p1, &p2)
		got := Commitment(p1.Bytes())
		if want := Commit(Int(tt.a+tt.b), r); got != want {
			t.Errorf("C(%d, r1) + C(%d, r2) = %s, want C(%d, r1+r2) = %s", tt.a, tt.b, got, tt.a+tt.b, want)
		}
	}
}

// notInSubgroup returns the compressed encoding of a point on the curve
// outside the prime-order subgroup.
func notInSubgroup(t *testing.T) string {
	t.Helper()
	for x := uint64(1); ; x++ {
		var p bls12381.G1Affine
		var y2, four fp.Element
		p.X.SetUint64(x)
		four.SetUint64(4)
		y2.Square(&p.X).Mul(&y2, &p.X).Add(&y2, &four)
		if p.Y.Sqrt(&y2) == nil {
			continue
		}
		if !p.IsOnCurve() {
			t.Fatal("constructed point not on the curve")
		}
		if p.IsInSubGroup() {
			continue
		}
		b := p.Bytes()
		return hex.EncodeToString(b[:])
	}
}

// notOnCurve returns a compressed encoding whose x has no point.
func notOnCurve(t *testing.T) string {
	t.Helper()
	for x := uint64(1); ; x++ {
		var X, y2, y, four fp.Element
		X.SetUint64(x)
		four.SetUint64(4)
		y2.Square(&X).Mul(&y2, &X).Add(&y2, &four)
		if y.Sqrt(&y2) != nil {
			continue
		}
		b := X.Bytes()
		b[0] |= 0x80
		return hex.EncodeToString(b[:])
	}
}

func TestParseCommitment(t *testing.T) {
	f := readVectors(t)
	valid := f.Vectors[0].Commitment
	p := fp.Modulus().FillBytes(make([]byte, 48))
	p[0] |= 0x80
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"vector", valid, true},
		{"uppercase", strings.ToUpper(valid), true},
		{"G", f.G, true},
		{"H", f.H, true},
		{"negated", flipSign(valid), true},
		{"empty", "", false},
		{"short", valid[:94], false},
		{"long", valid + "00", false},
		{"not hex", "zz" + valid[2:], false},
		{"infinity", "c0" + strings.Repeat("0", 94), false},
		{"infinity with garbage", "c0" + strings.Repeat("0", 93) + "1", false},
		{"uncompressed flag", fmt.Sprintf("%02x", hexByte(valid)&0x7f) + valid[2:], false},
		{"invalid mask", fmt.Sprintf("%02x", hexByte(valid)|0xe0) + valid[2:], false},
		{"x equal to p", hex.EncodeToString(p), false},
		{"zero x", "80" + strings.Repeat("0", 94), false},
		{"not on curve", notOnCurve(t), false},
		{"not in subgroup", notInSubgroup(t), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCommitment(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseCommitment(%s) = %v, want nil", tt.in, err)
				}
				if got, want := c.String(), strings.ToLower(tt.in); got != want {
					t.Errorf("ParseCommitment(%s).String() = %s, want %s", tt.in, got, want)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseCommitment(%s) = %v, want %v", tt.in, err, ErrInvalid)
			}
		})
	}
}

func hexByte(s string) byte {
	b, _ := hex.DecodeString(s[:2])
	return b[0]
}

func flipSign(s string) string {
	return fmt.Sprintf("%02x", hexByte(s)^0x20) + s[2:]
}

func TestCommitmentText(t *testing.T) {
	c := Commit(Int(9), mustBlinding(t, seeded(6)))
	b, err := json.Marshal(map[string]Commitment{"c": c})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"c":"` + c.String() + `"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var got map[string]Commitment
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["c"] != c {
		t.Errorf("json round trip = %s, want %s", got["c"], c)
	}
	if err := json.Unmarshal([]byte(`{"c":"00"}`), &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("json.Unmarshal(bad commitment) = %v, want %v", err, ErrInvalid)
	}
}

func TestParseBlinding(t *testing.T) {
	q := fr.Modulus()
	qm1 := new(big.Int).Sub(q, big.NewInt(1)).FillBytes(make([]byte, 32))
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"one", append(make([]byte, 31), 1), true},
		{"q-1", qm1, true},
		{"zero", make([]byte, 32), false},
		{"q", q.FillBytes(make([]byte, 32)), false},
		{"all ones", bytes.Repeat([]byte{0xff}, 32), false},
		{"short", make([]byte, 31), false},
		{"long", append(make([]byte, 32), 1), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseBlinding(tt.in)
			if tt.ok {
				if err != nil || !bytes.Equal(r[:], tt.in) {
					t.Errorf("ParseBlinding(%x) = %x, %v, want %x, nil", tt.in, r[:], err, tt.in)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseBlinding(%x) = %v, want %v", tt.in, err, ErrInvalid)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestNewBlinding(t *testing.T) {
	q := fr.Modulus().FillBytes(make([]byte, 32))
	valid := append(make([]byte, 31), 5)
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		rand    io.Reader
		want    []byte
		wantErr error
	}{
		{"first draw", bytes.NewReader(valid), valid, nil},
		{"top bit cleared", bytes.NewReader(append([]byte{0x80}, valid[1:]...)), valid, nil},
		{"rejects q", bytes.NewReader(append(q, valid...)), valid, nil},
		{"rejects zero", bytes.NewReader(append(make([]byte, 32), valid...)), valid, nil},
		{"source exhausted", bytes.NewReader(make([]byte, 10)), nil, io.ErrUnexpectedEOF},
		{"source fails", errReader{errBoom}, nil, errBoom},
		{"source stuck", bytes.NewReader(bytes.Repeat([]byte{0xff}, 32*maxBlindingAttempts)), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewBlinding(tt.rand)
			if tt.want != nil {
				if err != nil || !bytes.Equal(r[:], tt.want) {
					t.Errorf("NewBlinding() = %x, %v, want %x, nil", r[:], err, tt.want)
				}
				return
			}
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("NewBlinding() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewBlindingDefaultSource(t *testing.T) {
	a, err := NewBlinding(nil)
	if err != nil {
		t.Fatalf("NewBlinding(nil) = %v", err)
	}
	b, err := NewBlinding(nil)
	if err != nil {
		t.Fatalf("NewBlinding(nil) = %v", err)
	}
	if a == b {
		t.Errorf("NewBlinding(nil) returned the same value twice")
	}
	if _, err := ParseBlinding(a[:]); err != nil {
		t.Errorf("ParseBlinding(NewBlinding(nil)) = %v", err)
	}
}

func TestInt(t *testing.T) {
	q := fr.Modulus()
	tests := []struct {
		in   int64
		want *big.Int
	}{
		{0, big.NewInt(0)},
		{1, big.NewInt(1)},
		{-1, new(big.Int).Sub(q, big.NewInt(1))},
		{1<<63 - 1, big.NewInt(1<<63 - 1)},
		{-1 << 63, new(big.Int).Sub(q, new(big.Int).Lsh(big.NewInt(1), 63))},
	}
	for _, tt := range tests {
		s := Int(tt.in).Scalar()
		if got := new(big.Int).SetBytes(s[:]); got.Cmp(tt.want) != 0 {
			t.Errorf("Int(%d).Scalar() = %x, want %x", tt.in, got, tt.want)
		}
	}
	if Int(0) != (Message{}) {
		t.Errorf("Int(0) is not the zero Message")
	}
}

func TestString(t *testing.T) {
	for _, in := range []string{"\xff", "a\xc3", "\xed\xa0\x80"} { // bad byte, truncated, surrogate
		if _, err := String(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("String(%q) = %v, want %v", in, err, ErrInvalid)
		}
	}
	a, b := mustString(t, "a"), mustString(t, "b")
	if a == b {
		t.Errorf(`String("a") = String("b")`)
	}
	// No Unicode normalisation: precomposed and decomposed é differ.
	if mustString(t, "\u00e9") == mustString(t, "e\u0301") {
		t.Errorf("String normalises Unicode, want bytes as given")
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"2020-01-02", true},
		{"2020-02-29", true},
		{"2000-02-29", true},
		{"0001-01-01", true},
		{"9999-12-31", true},
		{"1985-07-31", true},
		{"2023-02-29", false},
		{"1900-02-29", false},
		{"2020-04-31", false},
		{"2020-13-01", false},
		{"2020-00-10", false},
		{"2020-01-00", false},
		{"2020-01-32", false},
		{"0000-01-01", false},
		{"2020-1-02", false},
		{"20200102", false},
		{"2020/01/02", false},
		{"+020-01-02", false},
		{"-020-01-02", false},
		{"2020-01-0a", false},
		{" 2020-01-2", false},
		{"2020-01-02 ", false},
		{"2020-01-02T00:00:00Z", false},
		{"２０２０-01-02", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Date(tt.in)
			if tt.ok && err != nil {
				t.Errorf("Date(%q) = %v, want nil", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("Date(%q) = %v, want %v", tt.in, err, ErrInvalid)
			}
		})
	}
}

// TestErrorsDoNotRepeatValues checks that rejected personal data does not
// end up in error strings, which get logged.
func TestErrorsDoNotRepeatValues(t *testing.T) {
	if _, err := Date("1985-02-30"); err == nil || strings.Contains(err.Error(), "1985") {
		t.Errorf(`Date("1985-02-30") = %v, want an error without the value`, err)
	}
	if _, err := String("secret\xff"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf(`String("secret\xff") = %v, want an error without the value`, err)
	}
}

func TestBlindingRedacted(t *testing.T) {
	r := mustBlinding(t, seeded(7))
	h := hex.EncodeToString(r[:])
	for _, format := range []string{"%v", "%s", "%x", "%#v", "%+v", "%d", "%q"} {
		if got := fmt.Sprintf(format, r); !strings.Contains(got, "REDACTED") || strings.Contains(got, h) || strings.Contains(got, fmt.Sprint(r[:])) {
			t.Errorf("fmt.Sprintf(%q, r) = %q reveals the blinding", format, got)
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	r := mustBlinding(b, seeded(8))
	m := mustString(b, "110101199003071234") // a full-size scalar
	// Build the tables outside the measurement.
	Commit(m, r)
	for b.Loop() {
		Commit(m, r)
	}
}

func BenchmarkVerify(b *testing.B) {
	r := mustBlinding(b, seeded(8))
	m := mustString(b, "110101199003071234") // a full-size scalar
	c := Commit(m, r)
	for b.Loop() {
		if err := Verify(c, m, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommitNoTable(b *testing.B) {
	r := mustBlinding(b, seeded(8))
	m := mustString(b, "110101199003071234") // a full-size scalar
	fixedGenerators()
	for b.Loop() {
		commitNoTable(m, r)
	}
}

// BenchmarkCommitRandom commits with a fresh blinding each time, as a bulk
// load does.
func BenchmarkCommitRandom(b *testing.B) {
	m := mustString(b, "110101199003071234")
	fixedGenerators()
	for b.Loop() {
		r, err := NewBlinding(nil)
		if err != nil {
			b.Fatal(err)
		}
		Commit(m, r)
	}
}

func BenchmarkString(b *testing.B) {
	for b.Loop() {
		if _, err := String("110101199003071234"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommitment(b *testing.B) {
	c := Commit(Int(1), mustBlinding(b, seeded(9))).String()
	for b.Loop() {
		if _, err := ParseCommitment(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTables(b *testing.B) {
	_, _, g, _ := bls12381.Generators()
	for b.Loop() {
		newBaseTable(&g)
	}
}

func TestCommitConcurrent(t *testing.T) {
	r := mustBlinding(t, seeded(10))
	want := commitNoTable(Int(77), r)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			var err error
			for range 20 {
				if got := Commit(Int(77), r); got != want {
					err = fmt.Errorf("Commit(77, r) = %s, want %s", got, want)
				}
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestCommitmentFromAuthenticated(t *testing.T) {
	valid := readVectors(t).Vectors[0].Commitment
	decode := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"vector", decode(valid), true},
		// Not a point: accepted, since the caller vouches for the bytes (ParseCommitment refuses it).
		{"not on curve", decode(notOnCurve(t)), true},
		{"empty", nil, false},
		{"short", decode(valid[:94]), false},
		{"long", decode(valid + "00"), false},
		{"infinity", decode("c0" + strings.Repeat("0", 94)), false},
		{"uncompressed flag", decode(fmt.Sprintf("%02x", hexByte(valid)&0x7f) + valid[2:]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CommitmentFromAuthenticated(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("CommitmentFromAuthenticated(%x) = %v, want %v", tt.in, err, ErrInvalid)
				}
				return
			}
			if err != nil {
				t.Fatalf("CommitmentFromAuthenticated(%x) = %v", tt.in, err)
			}
			if !bytes.Equal(c[:], tt.in) {
				t.Errorf("CommitmentFromAuthenticated(%x) = %x", tt.in, c[:])
			}
		})
	}
}
