package hub

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
)

const openingsFile = "testdata/openings.txt"

// testBlinding is a fixed valid blinding (below the group order) for vectors.
var testBlinding = func() commit.Blinding {
	var r commit.Blinding
	for i := range r {
		r[i] = byte(0x11 + i)
	}
	return r
}()

// openingVector is one line of testdata/openings.txt: "<kind> <value> <blinding hex> <encoding hex>",
// the value a decimal integer for int and a Go-quoted string otherwise.
type openingVector struct {
	kind     dataset.Kind
	value    any
	blinding commit.Blinding
	encoding []byte
}

var kindNames = map[string]dataset.Kind{"int": dataset.Int, "string": dataset.String, "date": dataset.Date, "enum": dataset.Enum}

func kindName(k dataset.Kind) string {
	for n, kk := range kindNames {
		if kk == k {
			return n
		}
	}
	return k.String()
}

// openingCases are the vectors of testdata/openings.txt; -update writes their encodings.
var openingCases = []struct {
	kind  dataset.Kind
	value any
}{
	{dataset.Int, int64(0)},
	{dataset.Int, int64(1)},
	{dataset.Int, int64(-1)},
	{dataset.Int, int64(180000)},
	{dataset.Int, int64(math.MaxInt64)},
	{dataset.Int, int64(math.MinInt64)},
	{dataset.String, ""},
	{dataset.String, "王小红"},
	{dataset.String, "北京市朝阳区建国路1号 Room 2"},
	{dataset.String, "O+"},
	{dataset.Enum, "MARRIED"},
	{dataset.Date, "1949-12-31"},
	{dataset.Date, "2024-02-29"},
}

func formatVector(k dataset.Kind, v any, r commit.Blinding, enc []byte) string {
	val := ""
	switch x := v.(type) {
	case int64:
		val = strconv.FormatInt(x, 10)
	case string:
		val = strconv.Quote(x)
	}
	return fmt.Sprintf("%s %s %s %s", kindName(k), val, hex.EncodeToString(r[:]), hex.EncodeToString(enc))
}

func readOpeningVectors(t testing.TB) []openingVector {
	t.Helper()
	data, err := os.ReadFile(openingsFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []openingVector
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The value may hold spaces: kind first, the two hex columns last.
		kindStr, rest, _ := strings.Cut(line, " ")
		i := strings.LastIndexByte(rest, ' ')
		j := strings.LastIndexByte(rest[:i], ' ')
		valStr, rHex, encHex := rest[:j], rest[j+1:i], rest[i+1:]
		k, ok := kindNames[kindStr]
		if !ok {
			t.Fatalf("%s:%d: unknown kind %q", openingsFile, n, kindStr)
		}
		var v openingVector
		v.kind = k
		if k == dataset.Int {
			x, err := strconv.ParseInt(valStr, 10, 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", openingsFile, n, err)
			}
			v.value = x
		} else {
			s, err := strconv.Unquote(valStr)
			if err != nil {
				t.Fatalf("%s:%d: %v", openingsFile, n, err)
			}
			v.value = s
		}
		rb, err := hex.DecodeString(rHex)
		if err != nil {
			t.Fatalf("%s:%d: %v", openingsFile, n, err)
		}
		if v.blinding, err = commit.ParseBlinding(rb); err != nil {
			t.Fatalf("%s:%d: %v", openingsFile, n, err)
		}
		if v.encoding, err = hex.DecodeString(encHex); err != nil {
			t.Fatalf("%s:%d: %v", openingsFile, n, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no vectors", openingsFile)
	}
	return out
}

// TestOpeningVectors pins the documented opening encoding: every vector encodes to its bytes and
// decodes back to its value and blinding.
func TestOpeningVectors(t *testing.T) {
	if *update {
		var b strings.Builder
		b.WriteString("# Opening encodings (hub/sealing.go): 0x01 ‖ kind tag ‖ blinding (32 bytes) ‖ value.\n")
		b.WriteString("# <kind> <value> <blinding hex> <encoding hex>; int values in decimal, text as Go-quoted strings.\n")
		b.WriteString("# Regenerate with: go test ./hub -run TestOpeningVectors -update\n")
		for _, c := range openingCases {
			enc, err := encodeOpening(c.kind, c.value, testBlinding)
			if err != nil {
				t.Fatalf("encodeOpening(%v, %v) = %v", c.kind, c.value, err)
			}
			b.WriteString(formatVector(c.kind, c.value, testBlinding, enc) + "\n")
		}
		if err := os.WriteFile(openingsFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := readOpeningVectors(t)
	if len(vs) != len(openingCases) {
		t.Errorf("%s holds %d vectors, want %d (regenerate with -update)", openingsFile, len(vs), len(openingCases))
	}
	for _, v := range vs {
		t.Run(formatVector(v.kind, v.value, v.blinding, nil), func(t *testing.T) {
			enc, err := encodeOpening(v.kind, v.value, v.blinding)
			if err != nil {
				t.Fatalf("encodeOpening = %v", err)
			}
			if !bytes.Equal(enc, v.encoding) {
				t.Errorf("encodeOpening(%s, %v) = %x, want %x", kindName(v.kind), v.value, enc, v.encoding)
			}
			got, r, err := decodeOpening(v.kind, v.encoding)
			if err != nil {
				t.Fatalf("decodeOpening(%x) = %v", v.encoding, err)
			}
			if got != v.value || r != v.blinding {
				t.Errorf("decodeOpening(%x) = %#v, %x, want %#v, %x", v.encoding, got, r[:], v.value, v.blinding[:])
			}
		})
	}
}

// TestEncodeOpeningLayout checks the encoding byte by byte against the documented layout, not
// against its own output.
func TestEncodeOpeningLayout(t *testing.T) {
	r := testBlinding
	tests := []struct {
		kind  dataset.Kind
		value any
		want  []byte
	}{
		{dataset.Int, int64(-2), append(append([]byte{0x01, 'i'}, r[:]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)},
		{dataset.Int, int64(math.MinInt64), append(append([]byte{0x01, 'i'}, r[:]...), 0x80, 0, 0, 0, 0, 0, 0, 0)},
		{dataset.Int, int64(258), append(append([]byte{0x01, 'i'}, r[:]...), 0, 0, 0, 0, 0, 0, 0x01, 0x02)},
		{dataset.String, "中", append(append([]byte{0x01, 's'}, r[:]...), 0xe4, 0xb8, 0xad)},
		{dataset.String, "", append([]byte{0x01, 's'}, r[:]...)},
		{dataset.Enum, "SINGLE", append(append([]byte{0x01, 's'}, r[:]...), "SINGLE"...)},
		{dataset.Date, "2000-01-02", append(append([]byte{0x01, 'd'}, r[:]...), "2000-01-02"...)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", kindName(tt.kind), tt.value), func(t *testing.T) {
			got, err := encodeOpening(tt.kind, tt.value, r)
			if err != nil {
				t.Fatalf("encodeOpening = %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("encodeOpening(%s, %v) = %x, want %x", kindName(tt.kind), tt.value, got, tt.want)
			}
		})
	}
}

func TestEncodeOpeningRejectsKindsNotSealed(t *testing.T) {
	for _, k := range []dataset.Kind{dataset.Float, dataset.Bool, dataset.StringList, dataset.Kind(0)} {
		if _, err := encodeOpening(k, "x", testBlinding); err == nil {
			t.Errorf("encodeOpening(%v) = nil error, want one: %v fields are never sealed", k, k)
		}
		if v, _, err := decodeOpening(k, append([]byte{0x01, 's'}, testBlinding[:]...)); err == nil {
			t.Errorf("decodeOpening(%v) = %v, nil error, want an error", k, v)
		}
	}
}

func TestDecodeOpeningRejects(t *testing.T) {
	r := testBlinding
	good := func(tag byte, value ...byte) []byte {
		return append(append([]byte{0x01, tag}, r[:]...), value...)
	}
	intGood := good('i', 0, 0, 0, 0, 0, 0, 0, 7)
	zero := append([]byte{0x01, 'i'}, make([]byte, 40)...)
	tooBig := append(append([]byte{0x01, 's'}, bytes.Repeat([]byte{0xff}, 32)...), 'x')
	tests := []struct {
		name string
		kind dataset.Kind
		in   []byte
	}{
		{"empty", dataset.String, nil},
		{"version only", dataset.String, []byte{0x01}},
		{"blinding cut short", dataset.String, good('s')[:33]},
		{"integer without value", dataset.Int, good('i')},
		{"integer cut short", dataset.Int, intGood[:len(intGood)-1]},
		{"integer too long", dataset.Int, append(intGood[:len(intGood):len(intGood)], 0)},
		{"wrong version", dataset.Int, append([]byte{0x02}, intGood[1:]...)},
		{"version zero", dataset.String, append([]byte{0x00}, good('s', 'a')[1:]...)},
		{"string read as integer", dataset.Int, good('s', 0, 0, 0, 0, 0, 0, 0, 7)},
		{"integer read as string", dataset.String, intGood},
		{"date read as string", dataset.String, good('d', []byte("2000-01-01")...)},
		{"string read as date", dataset.Date, good('s', []byte("2000-01-01")...)},
		{"string read as enum of another tag", dataset.Enum, good('d', []byte("MARRIED")...)},
		{"zero blinding", dataset.Int, zero},
		{"blinding not below the group order", dataset.String, tooBig},
		{"invalid UTF-8", dataset.String, good('s', 0xff, 0xfe)},
		{"cut UTF-8", dataset.String, good('s', 0xe4, 0xb8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, _, err := decodeOpening(tt.kind, tt.in); err == nil {
				t.Errorf("decodeOpening(%s, %x) = %#v, nil error, want an error", kindName(tt.kind), tt.in, v)
			}
		})
	}
}

// The opening of a sealed value round-trips through sealing: sealValue then openValue gives the
// value back, and the commitment opens with it.
func TestSealValueOpenValue(t *testing.T) {
	dk, err := seal.NewDataKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ds, field string
		item      int
		value     any
	}{
		{"tax", "annualIncome", 0, int64(math.MaxInt64)},
		{"tax", "taxPaid", 0, int64(0)},
		{"identity", "address", 0, "北京市朝阳区建国路1号"},
		{"identity", "birthDate", 0, "1949-12-31"},
		{"health", "chronicConditions", 0, ""},
		{"property", "address", 3, "上海市浦东新区世纪大道2号"},
	}
	for _, c := range cases {
		t.Run(c.ds+"."+c.field, func(t *testing.T) {
			ds, _ := dataset.Lookup(c.ds)
			f, _ := ds.Field(c.field)
			sf, err := sealValue(dk, citizenA, ds, f, c.item, c.value, testBlinding, 42, writeScheme(f.Kind, false))
			if err != nil {
				t.Fatalf("sealValue = %v", err)
			}
			got, err := openValue(dk, citizenA, ds, f, c.item, sf)
			if err != nil {
				t.Fatalf("openValue = %v", err)
			}
			if got != c.value {
				t.Errorf("openValue = %#v, want %#v", got, c.value)
			}
			// Bound to citizen, item and version: moved anywhere else it does not open.
			if _, err := openValue(dk, citizenB, ds, f, c.item, sf); err == nil {
				t.Errorf("openValue under another citizen = nil error, want one")
			}
			if _, err := openValue(dk, citizenA, ds, f, c.item+1, sf); ds.List && err == nil {
				t.Errorf("openValue of another item = nil error, want one")
			}
			// A stored commitment changed (in its last byte, or in its form) is refused: openValue
			// checks only the form before Verify compares the bytes with the opening's commitment.
			for _, change := range []func(c []byte){func(c []byte) { c[len(c)-1] ^= 1 }, func(c []byte) { c[0] &^= 0x80 }} {
				changed := sf
				changed.Commitment = bytes.Clone(sf.Commitment)
				change(changed.Commitment)
				if _, err := openValue(dk, citizenA, ds, f, c.item, changed); err == nil {
					t.Errorf("openValue with the commitment changed to %x = nil error, want one", changed.Commitment)
				}
			}
			moved := sf
			moved.Version = 43
			if _, err := openValue(dk, citizenA, ds, f, c.item, moved); err == nil {
				t.Errorf("openValue under another version = nil error, want one")
			}
			// reseal moves it to another version, keeping the commitment.
			re, err := reseal(dk, citizenA, ds, c.field, c.item, sf, 43)
			if err != nil {
				t.Fatalf("reseal = %v", err)
			}
			if !bytes.Equal(re.Commitment, sf.Commitment) || re.Version != 43 {
				t.Errorf("reseal = version %d commitment %x, want 43 and %x", re.Version, re.Commitment, sf.Commitment)
			}
			if got, err := openValue(dk, citizenA, ds, f, c.item, re); err != nil || got != c.value {
				t.Errorf("openValue(resealed) = %#v, %v, want %#v", got, err, c.value)
			}
		})
	}
}

// FuzzDecodeOpening: decodeOpening never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecodeOpening(f *testing.F) {
	kinds := []dataset.Kind{dataset.Int, dataset.String, dataset.Date, dataset.Enum, dataset.Float}
	kindIndex := func(k dataset.Kind) uint8 {
		for i, kk := range kinds {
			if kk == k {
				return uint8(i)
			}
		}
		return 0
	}
	for _, v := range readOpeningVectors(f) {
		f.Add(kindIndex(v.kind), v.encoding)
		f.Add(kindIndex(v.kind), v.encoding[:len(v.encoding)-1])
		f.Add(uint8(0), v.encoding)
	}
	f.Add(uint8(1), []byte{})
	f.Add(uint8(4), []byte{0x01, 's'})
	f.Fuzz(func(t *testing.T, ki uint8, b []byte) {
		k := kinds[int(ki)%len(kinds)]
		v, r, err := decodeOpening(k, b)
		if err != nil {
			return
		}
		if k == dataset.Float {
			t.Fatalf("decodeOpening(Float, %x) = %#v, want an error", b, v)
		}
		if _, err := commit.ParseBlinding(r[:]); err != nil {
			t.Fatalf("decodeOpening(%x) gave a blinding ParseBlinding rejects: %v", b, err)
		}
		enc, err := encodeOpening(k, v, r)
		if err != nil {
			t.Fatalf("encodeOpening(decodeOpening(%x)) = %v", b, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("encodeOpening(decodeOpening(%x)) = %x, want the input", b, enc)
		}
	})
}
