package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// seeded returns a deterministic source of test randomness.
func seeded(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed})
}

func newTestDataKey(t testing.TB, seed byte) *DataKey {
	t.Helper()
	dk, err := NewDataKey(seeded(seed))
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	return dk
}

func newTestMasterKey(t testing.TB, seed byte) *MasterKey {
	t.Helper()
	b := make([]byte, KeySize)
	io.ReadFull(seeded(seed), b)
	m, err := NewMasterKey(b)
	if err != nil {
		t.Fatalf("NewMasterKey: %v", err)
	}
	return m
}

var testAD = AD{Citizen: "C000001", Dataset: "tax", Field: "annualIncome", Version: 7}

// refAD builds associated data by hand from the package documentation,
// independently of AD.encode.
func refAD(label string, fields ...string) []byte {
	var b []byte
	for _, s := range append([]string{label}, fields...) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func refSealAD(ad AD) []byte {
	return binary.BigEndian.AppendUint64(refAD("govhub/seal/v1", ad.Citizen, ad.Dataset, ad.Field), ad.Version)
}

// refSeal produces the documented format with the standard library and a
// chosen nonce.
func refSeal(t testing.TB, key, nonce, ad, plaintext []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{0x01}, nonce...)
	return gcm.Seal(out, nonce, plaintext, ad)
}

// refOpen opens the documented format with the standard library.
func refOpen(t testing.TB, key, ad, sealed []byte) ([]byte, error) {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) < 1+12 || sealed[0] != 0x01 {
		return nil, errors.New("bad header")
	}
	return gcm.Open(nil, sealed[1:13], sealed[13:], ad)
}

func TestADEncoding(t *testing.T) {
	// The worked examples of the package documentation.
	want := "0000000e676f766875622f7365616c2f7631" +
		"0000000743303030303031" +
		"00000003746178" +
		"0000000c616e6e75616c496e636f6d65" +
		"0000000000000007"
	got, err := testAD.encode()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("%+v.encode() = %x, want %s", testAD, got, want)
	}
	if !bytes.Equal(got, refSealAD(testAD)) {
		t.Errorf("%+v.encode() = %x, want %x", testAD, got, refSealAD(testAD))
	}
	wantWrap := "00000012676f766875622f7365616c2f76312f64656b" + "0000000743303030303031"
	if got := hex.EncodeToString(wrapAD("C000001")); got != wantWrap {
		t.Errorf("wrapAD(C000001) = %s, want %s", got, wantWrap)
	}
}

// The list item example of the package documentation.
func TestItemAD(t *testing.T) {
	ad := ItemAD("C000001", "property", "address", 2, 9)
	if want := (AD{Citizen: "C000001", Dataset: "property", Field: "address#2", Version: 9}); ad != want {
		t.Fatalf("ItemAD(C000001, property, address, 2, 9) = %+v, want %+v", ad, want)
	}
	want := "0000000e676f766875622f7365616c2f7631" +
		"0000000743303030303031" +
		"0000000870726f7065727479" +
		"00000009616464726573732332" +
		"0000000000000009"
	got, err := ad.encode()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("%+v.encode() = %x, want %s", ad, got, want)
	}
	for _, tt := range []struct {
		field string
		item  int
		want  string
	}{{"address", 0, "address#0"}, {"city", 12, "city#12"}} {
		if got := ItemField(tt.field, tt.item); got != tt.want {
			t.Errorf("ItemField(%q, %d) = %q, want %q", tt.field, tt.item, got, tt.want)
		}
	}
}

func TestADUnambiguous(t *testing.T) {
	ads := []AD{
		{Citizen: "ab", Dataset: "c", Field: "f", Version: 1},
		{Citizen: "a", Dataset: "bc", Field: "f", Version: 1},
		{Citizen: "a", Dataset: "b", Field: "cf", Version: 1},
		{Citizen: "a", Dataset: "bcf", Field: "x", Version: 1},
		{Citizen: "a", Dataset: "b", Field: "c", Version: 1},
		{Citizen: "a", Dataset: "b", Field: "c", Version: 1 << 32},
		{Citizen: "a\x00\x00\x00\x01b", Dataset: "c", Field: "d", Version: 0},
		{Citizen: "a", Dataset: "b", Field: "c\x00\x00\x00\x01d", Version: 0},
	}
	seen := map[string]AD{}
	for _, ad := range ads {
		b, err := ad.encode()
		if err != nil {
			t.Fatalf("%+v.encode() = %v", ad, err)
		}
		if prev, ok := seen[string(b)]; ok {
			t.Errorf("%+v and %+v encode alike: %x", prev, ad, b)
		}
		seen[string(b)] = ad
	}
	// And a value sealed under one does not open under another.
	dk := newTestDataKey(t, 1)
	sealed, err := dk.Seal(ads[0], []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dk.Open(ads[1], sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(%+v, sealed for %+v) = %v, want %v", ads[1], ads[0], err, ErrOpen)
	}
}

func TestSealOpen(t *testing.T) {
	dk := newTestDataKey(t, 2)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"integer", []byte("123456")},
		{"national id", []byte("110101199003071234")},
		{"chinese", []byte("北京市东城区")},
		{"binary", []byte{0, 1, 2, 0xff}},
		{"large", bytes.Repeat([]byte("x"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := dk.Seal(testAD, tt.plaintext)
			if err != nil {
				t.Fatalf("Seal = %v", err)
			}
			if len(sealed) != len(tt.plaintext)+Overhead {
				t.Errorf("len(Seal(%d bytes)) = %d, want %d", len(tt.plaintext), len(sealed), len(tt.plaintext)+Overhead)
			}
			if sealed[0] != Version {
				t.Errorf("Seal()[0] = %#x, want %#x", sealed[0], Version)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(sealed, tt.plaintext) {
				t.Errorf("Seal() contains the plaintext")
			}
			got, err := dk.Open(testAD, sealed)
			if err != nil {
				t.Fatalf("Open(Seal(x)) = %v", err)
			}
			if got == nil || !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open(Seal(%q)) = %q", tt.plaintext, got)
			}
			// The format is the documented one: the standard library opens it
			// with the hand-built associated data.
			ref, err := refOpen(t, dk.key[:], refSealAD(testAD), sealed)
			if err != nil || !bytes.Equal(ref, tt.plaintext) {
				t.Errorf("reference open = %q, %v, want %q", ref, err, tt.plaintext)
			}
		})
	}
}

func TestSealFreshNonces(t *testing.T) {
	dk := newTestDataKey(t, 3)
	a, _ := dk.Seal(testAD, []byte("same"))
	b, _ := dk.Seal(testAD, []byte("same"))
	if bytes.Equal(a[1:13], b[1:13]) {
		t.Errorf("two seals used the same nonce %x", a[1:13])
	}
}

// TestOpenMoved checks that a sealed value opens only in its own place.
func TestOpenMoved(t *testing.T) {
	dk := newTestDataKey(t, 4)
	sealed, err := dk.Seal(testAD, []byte("350000"))
	if err != nil {
		t.Fatal(err)
	}
	moved := func(f func(*AD)) AD { ad := testAD; f(&ad); return ad }
	tests := []struct {
		name string
		ad   AD
	}{
		{"other citizen", moved(func(ad *AD) { ad.Citizen = "C000002" })},
		{"other dataset", moved(func(ad *AD) { ad.Dataset = "socialInsurance" })},
		{"other field", moved(func(ad *AD) { ad.Field = "taxPaid" })},
		{"older version", moved(func(ad *AD) { ad.Version = 6 })},
		{"newer version", moved(func(ad *AD) { ad.Version = 8 })},
		{"empty field", moved(func(ad *AD) { ad.Field = "" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := dk.Open(tt.ad, sealed); !errors.Is(err, ErrOpen) {
				t.Errorf("Open(%+v, sealed for %+v) = %q, %v, want %v", tt.ad, testAD, got, err, ErrOpen)
			}
		})
	}
}

func TestOpenTampered(t *testing.T) {
	dk := newTestDataKey(t, 5)
	sealed, err := dk.Seal(testAD, []byte("A+"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= mask
			if _, err := dk.Open(testAD, tampered); !errors.Is(err, ErrOpen) {
				t.Errorf("Open(sealed with byte %d ^ %#x) = %v, want %v", i, mask, err, ErrOpen)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := dk.Open(testAD, sealed[:n]); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(sealed[:%d]) = %v, want %v", n, err, ErrOpen)
		}
	}
	if _, err := dk.Open(testAD, append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(sealed + 1 byte) = %v, want %v", err, ErrOpen)
	}
	if _, err := dk.Open(testAD, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(nil) = %v, want %v", err, ErrOpen)
	}
}

func TestOpenWrongKey(t *testing.T) {
	dk, other := newTestDataKey(t, 6), newTestDataKey(t, 7)
	sealed, err := dk.Seal(testAD, []byte("O-"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(testAD, sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("other.Open(sealed) = %v, want %v", err, ErrOpen)
	}
}

func TestSealIncompleteAD(t *testing.T) {
	dk := newTestDataKey(t, 8)
	for _, ad := range []AD{
		{Dataset: "tax", Field: "annualIncome"},
		{Citizen: "C000001", Field: "annualIncome"},
		{Citizen: "C000001", Dataset: "tax"},
		{},
	} {
		if _, err := dk.Seal(ad, []byte("x")); !errors.Is(err, ErrInvalidAD) {
			t.Errorf("Seal(%+v) = %v, want %v", ad, err, ErrInvalidAD)
		}
		if _, err := dk.Open(ad, make([]byte, 40)); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%+v) = %v, want %v", ad, err, ErrOpen)
		}
	}
}

func TestWrapUnwrap(t *testing.T) {
	m, other := newTestMasterKey(t, 9), newTestMasterKey(t, 10)
	dk := newTestDataKey(t, 11)
	wrapped, err := m.Wrap("C000001", dk)
	if err != nil {
		t.Fatalf("Wrap = %v", err)
	}
	if len(wrapped) != WrappedSize || wrapped[0] != Version {
		t.Errorf("Wrap() = %d bytes starting %#x, want %d starting %#x", len(wrapped), wrapped[0], WrappedSize, Version)
	}
	if bytes.Contains(wrapped, dk.key[:]) {
		t.Errorf("Wrap() contains the data key")
	}

	got, err := m.Unwrap("C000001", wrapped)
	if err != nil {
		t.Fatalf("Unwrap(Wrap(dk)) = %v", err)
	}
	if got.key != dk.key {
		t.Errorf("Unwrap(Wrap(dk)) returned another key")
	}
	sealed, err := dk.Seal(testAD, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := got.Open(testAD, sealed); err != nil || string(pt) != "secret" {
		t.Errorf("unwrapped.Open(dk.Seal(secret)) = %q, %v, want secret", pt, err)
	}

	tampered := bytes.Clone(wrapped)
	tampered[20] ^= 1
	tests := []struct {
		name    string
		m       *MasterKey
		citizen string
		wrapped []byte
	}{
		{"other citizen", m, "C000002", wrapped},
		{"empty citizen", m, "", wrapped},
		{"other master key", other, "C000001", wrapped},
		{"tampered", m, "C000001", tampered},
		{"truncated", m, "C000001", wrapped[:len(wrapped)-1]},
		{"extended", m, "C000001", append(bytes.Clone(wrapped), 0)},
		{"empty", m, "C000001", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.m.Unwrap(tt.citizen, tt.wrapped); !errors.Is(err, ErrOpen) {
				t.Errorf("Unwrap(%q, %s) = %v, want %v", tt.citizen, tt.name, err, ErrOpen)
			}
		})
	}
	if _, err := m.Wrap("", dk); !errors.Is(err, ErrInvalidAD) {
		t.Errorf(`Wrap("", dk) = %v, want %v`, err, ErrInvalidAD)
	}
}

func TestNewMasterKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		b := bytes.Repeat([]byte{0xab}, n)
		_, err := NewMasterKey(b)
		if err == nil {
			t.Errorf("NewMasterKey(%d bytes) = nil error", n)
			continue
		}
		if strings.Contains(err.Error(), "ab") || strings.Contains(err.Error(), "171") {
			t.Errorf("NewMasterKey(%d bytes) error %q shows key bytes", n, err)
		}
	}
	// The key does not keep a reference to the caller's slice.
	b := bytes.Repeat([]byte{1}, KeySize)
	m, err := NewMasterKey(b)
	if err != nil {
		t.Fatal(err)
	}
	dk := newTestDataKey(t, 12)
	wrapped, err := m.Wrap("C000001", dk)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if _, err := m.Unwrap("C000001", wrapped); err != nil {
		t.Errorf("Unwrap after the caller cleared its key bytes = %v", err)
	}
}

func TestNewDataKey(t *testing.T) {
	a, b := newTestDataKey(t, 13), newTestDataKey(t, 13)
	sealed, err := a.Seal(testAD, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(testAD, sealed); err != nil {
		t.Errorf("keys from the same random bytes differ: %v", err)
	}
	if _, err := NewDataKey(bytes.NewReader(make([]byte, KeySize-1))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("NewDataKey(short source) = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	x, err := NewDataKey(nil)
	if err != nil {
		t.Fatalf("NewDataKey(nil) = %v", err)
	}
	y, err := NewDataKey(nil)
	if err != nil {
		t.Fatalf("NewDataKey(nil) = %v", err)
	}
	if x.key == y.key {
		t.Errorf("NewDataKey(nil) returned the same key twice")
	}
}

func TestKeysRedacted(t *testing.T) {
	keyBytes := bytes.Repeat([]byte{0x5a}, KeySize)
	m, err := NewMasterKey(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := NewDataKey(bytes.NewReader(keyBytes))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
		for _, v := range []any{m, *m, dk, *dk} {
			got := fmt.Sprintf(format, v)
			if !strings.Contains(got, "REDACTED") || strings.Contains(got, "5a5a") || strings.Contains(got, "90 90") {
				t.Errorf("fmt.Sprintf(%q, %T) = %q, want it redacted", format, v, got)
			}
		}
	}
}

// vectorFile is the layout of testdata/vectors.json: fixed keys and nonces,
// so other implementations can check the format.
type vectorFile struct {
	Sealed  []sealVector `json:"sealed"`
	Wrapped []wrapVector `json:"wrapped"`
}

type sealVector struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Citizen   string `json:"citizen"`
	Dataset   string `json:"dataset"`
	Field     string `json:"field"`
	Version   uint64 `json:"version"`
	AD        string `json:"ad"`
	Nonce     string `json:"nonce"`
	Plaintext string `json:"plaintext"` // hex
	Sealed    string `json:"sealed"`
}

type wrapVector struct {
	Name      string `json:"name"`
	MasterKey string `json:"master_key"`
	Citizen   string `json:"citizen"`
	AD        string `json:"ad"`
	Nonce     string `json:"nonce"`
	DataKey   string `json:"data_key"`
	Wrapped   string `json:"wrapped"`
}

func fixedBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	io.ReadFull(seeded(seed), b)
	return b
}

// buildVectors computes the vectors with the standard library and the
// hand-built associated data, not with the package under test.
func buildVectors(t *testing.T) vectorFile {
	var f vectorFile
	sealCases := []struct {
		name      string
		ad        AD
		plaintext string
	}{
		{"integer", testAD, "350000"},
		{"string", AD{Citizen: "C000042", Dataset: "identity", Field: "address", Version: 1}, "北京市东城区景山前街4号"},
		{"empty", AD{Citizen: "C000042", Dataset: "health", Field: "chronicConditions", Version: 1<<64 - 1}, ""},
	}
	for i, c := range sealCases {
		key, nonce := fixedBytes(KeySize, byte(100+i)), fixedBytes(12, byte(150+i))
		ad := refSealAD(c.ad)
		f.Sealed = append(f.Sealed, sealVector{
			Name: c.name, Key: hex.EncodeToString(key),
			Citizen: c.ad.Citizen, Dataset: c.ad.Dataset, Field: c.ad.Field, Version: c.ad.Version,
			AD: hex.EncodeToString(ad), Nonce: hex.EncodeToString(nonce),
			Plaintext: hex.EncodeToString([]byte(c.plaintext)),
			Sealed:    hex.EncodeToString(refSeal(t, key, nonce, ad, []byte(c.plaintext))),
		})
	}
	mk, nonce, dk := fixedBytes(KeySize, 200), fixedBytes(12, 201), fixedBytes(KeySize, 202)
	ad := refAD("govhub/seal/v1/dek", "C000001")
	f.Wrapped = append(f.Wrapped, wrapVector{
		Name: "data key", MasterKey: hex.EncodeToString(mk), Citizen: "C000001",
		AD: hex.EncodeToString(ad), Nonce: hex.EncodeToString(nonce), DataKey: hex.EncodeToString(dk),
		Wrapped: hex.EncodeToString(refSeal(t, mk, nonce, ad, dk)),
	})
	return f
}

func TestVectorsGolden(t *testing.T) {
	got, err := json.MarshalIndent(buildVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; computed:\n%s", vectorsFile, got)
	}
}

func readVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parsing %s: %v", vectorsFile, err)
	}
	return f
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestVectors opens the published vectors with the package's API.
func TestVectors(t *testing.T) {
	f := readVectors(t)
	for _, v := range f.Sealed {
		t.Run(v.Name, func(t *testing.T) {
			dk, err := NewDataKey(bytes.NewReader(unhex(t, v.Key)))
			if err != nil {
				t.Fatal(err)
			}
			ad := AD{Citizen: v.Citizen, Dataset: v.Dataset, Field: v.Field, Version: v.Version}
			if enc, _ := ad.encode(); hex.EncodeToString(enc) != v.AD {
				t.Errorf("%+v.encode() = %x, want %s", ad, enc, v.AD)
			}
			got, err := dk.Open(ad, unhex(t, v.Sealed))
			if err != nil || hex.EncodeToString(got) != v.Plaintext {
				t.Errorf("Open(vector) = %x, %v, want %s", got, err, v.Plaintext)
			}
		})
	}
	for _, v := range f.Wrapped {
		t.Run(v.Name, func(t *testing.T) {
			m, err := NewMasterKey(unhex(t, v.MasterKey))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(wrapAD(v.Citizen)); got != v.AD {
				t.Errorf("wrapAD(%q) = %s, want %s", v.Citizen, got, v.AD)
			}
			dk, err := m.Unwrap(v.Citizen, unhex(t, v.Wrapped))
			if err != nil {
				t.Fatalf("Unwrap(vector) = %v", err)
			}
			if got := hex.EncodeToString(dk.key[:]); got != v.DataKey {
				t.Errorf("Unwrap(vector) = %s, want %s", got, v.DataKey)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	dk := newTestDataKey(b, 20)
	for _, n := range []int{16, 1024} {
		pt := make([]byte, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := dk.Seal(testAD, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	dk := newTestDataKey(b, 21)
	for _, n := range []int{16, 1024} {
		sealed, err := dk.Seal(testAD, make([]byte, n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := dk.Open(testAD, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWrap(b *testing.B) {
	m, dk := newTestMasterKey(b, 22), newTestDataKey(b, 23)
	for b.Loop() {
		if _, err := m.Wrap("C000001", dk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnwrap includes setting up the data key's cipher, which a read
// pays once per citizen.
func BenchmarkUnwrap(b *testing.B) {
	m, dk := newTestMasterKey(b, 24), newTestDataKey(b, 25)
	wrapped, err := m.Wrap("C000001", dk)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.Unwrap("C000001", wrapped); err != nil {
			b.Fatal(err)
		}
	}
}
