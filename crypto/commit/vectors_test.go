package commit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json.
type vectorFile struct {
	Scheme  string   `json:"scheme"`
	G       string   `json:"g"`
	H       string   `json:"h"`
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"` // int, string or date
	Input      string `json:"input"`
	Blinding   string `json:"blinding"`
	Scalar     string `json:"scalar"`
	Commitment string `json:"commitment"`
}

// vectorCases are the inputs of the test vectors. Each blinding is
// SHA-256("govhub/commit/v1/test-blinding/" + name) with the top two bits
// cleared, which is always a valid blinding.
var vectorCases = []struct{ name, kind, input string }{
	{"int-42", "int", "42"},
	{"int-negative", "int", "-7"},
	{"int-zero", "int", "0"},
	{"int-max", "int", "9223372036854775807"},
	{"int-min", "int", "-9223372036854775808"},
	{"string-ascii", "string", "Zhang San"},
	{"string-chinese", "string", "张三"},
	{"string-empty", "string", ""},
	{"string-looks-like-date", "string", "2020-01-02"},
	{"date", "date", "2020-01-02"},
	{"date-birth", "date", "1985-07-31"},
}

func testBlinding(name string) Blinding {
	r := Blinding(sha256.Sum256([]byte("govhub/commit/v1/test-blinding/" + name)))
	r[0] &= 0x3f
	return r
}

func messageOf(t *testing.T, kind, input string) Message {
	t.Helper()
	switch kind {
	case "int":
		v, err := strconv.ParseInt(input, 10, 64)
		if err != nil {
			t.Fatalf("vector input %q: %v", input, err)
		}
		return Int(v)
	case "string":
		m, err := String(input)
		if err != nil {
			t.Fatalf("String(%q): %v", input, err)
		}
		return m
	case "date":
		m, err := Date(input)
		if err != nil {
			t.Fatalf("Date(%q): %v", input, err)
		}
		return m
	}
	t.Fatalf("unknown vector kind %q", kind)
	return Message{}
}

// buildVectors computes the vector file with the package under test.
func buildVectors(t *testing.T) vectorFile {
	gens := fixedGenerators()
	f := vectorFile{
		Scheme: Scheme,
		G:      hex.EncodeToString(bytesOf(gens.g.Bytes())),
		H:      hex.EncodeToString(bytesOf(gens.h.Bytes())),
	}
	for _, c := range vectorCases {
		m := messageOf(t, c.kind, c.input)
		r := testBlinding(c.name)
		s := m.Scalar()
		f.Vectors = append(f.Vectors, vector{
			Name:       c.name,
			Kind:       c.kind,
			Input:      c.input,
			Blinding:   hex.EncodeToString(r[:]),
			Scalar:     hex.EncodeToString(s[:]),
			Commitment: Commit(m, r).String(),
		})
	}
	return f
}

func bytesOf(b [48]byte) []byte { return b[:] }

func TestVectorsGolden(t *testing.T) {
	f := buildVectors(t)
	got, err := json.MarshalIndent(f, "", "  ")
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
		t.Errorf("%s is stale or the scheme changed; computed:\n%s", vectorsFile, got)
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

// TestVectorsIndependent recomputes every vector from the documented
// definitions, without the package's tables or mapping functions: integers
// with math/big, strings and dates with a local expand_message_xmd, points
// with gnark-crypto's variable-base scalar multiplication.
func TestVectorsIndependent(t *testing.T) {
	f := readVectors(t)
	if f.Scheme != Scheme {
		t.Errorf("scheme = %q, want %q", f.Scheme, Scheme)
	}
	_, _, g, _ := bls12381.Generators()
	h, err := bls12381.HashToG1([]byte("govhub/commit/v1/H"), []byte("GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(bytesOf(g.Bytes())); got != f.G {
		t.Errorf("G = %s, want %s", got, f.G)
	}
	// The standard BLS12-381 G1 generator (ZCash serialisation).
	if f.G != "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb" {
		t.Errorf("G in %s is not the standard generator", vectorsFile)
	}
	if got := hex.EncodeToString(bytesOf(h.Bytes())); got != f.H {
		t.Errorf("H = %s, want %s", got, f.H)
	}
	if len(f.Vectors) != len(vectorCases) {
		t.Fatalf("%d vectors, want %d", len(f.Vectors), len(vectorCases))
	}
	q := fr.Modulus()
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			var s *big.Int
			switch v.Kind {
			case "int":
				n, ok := new(big.Int).SetString(v.Input, 10)
				if !ok {
					t.Fatalf("bad int input %q", v.Input)
				}
				s = n.Mod(n, q) // Go's Mod is Euclidean: -7 ↦ q-7
			case "string":
				s = hashToFieldRef([]byte(v.Input), "GOVHUB-COMMIT-V1-STRING")
			case "date":
				s = hashToFieldRef([]byte(v.Input), "GOVHUB-COMMIT-V1-DATE")
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
			if got := hex.EncodeToString(s.FillBytes(make([]byte, 32))); got != v.Scalar {
				t.Errorf("scalar(%s %q) = %s, want %s", v.Kind, v.Input, got, v.Scalar)
			}
			rb, err := hex.DecodeString(v.Blinding)
			if err != nil {
				t.Fatal(err)
			}
			r := new(big.Int).SetBytes(rb)
			var a, b bls12381.G1Affine
			a.ScalarMultiplication(&g, s)
			b.ScalarMultiplication(&h, r)
			a.Add(&a, &b)
			if got := hex.EncodeToString(bytesOf(a.Bytes())); got != v.Commitment {
				t.Errorf("reference commitment = %s, want %s", got, v.Commitment)
			}

			// And the package's API agrees with the file.
			m := messageOf(t, v.Kind, v.Input)
			blinding, err := ParseBlinding(rb)
			if err != nil {
				t.Fatalf("ParseBlinding(%s): %v", v.Blinding, err)
			}
			c, err := ParseCommitment(v.Commitment)
			if err != nil {
				t.Fatalf("ParseCommitment(%s): %v", v.Commitment, err)
			}
			if err := Verify(c, m, blinding); err != nil {
				t.Errorf("Verify(vector) = %v, want nil", err)
			}
		})
	}
}

// hashToFieldRef is RFC 9380 hash_to_field for one element of the scalar
// field with expand_message_xmd(SHA-256), L = 48, written from the RFC.
func hashToFieldRef(msg []byte, dst string) *big.Int {
	uniform := expandMessageXMD(msg, []byte(dst), 48)
	n := new(big.Int).SetBytes(uniform)
	return n.Mod(n, fr.Modulus())
}

// expandMessageXMD is RFC 9380 section 5.3.1 with SHA-256, for
// lenInBytes ≤ 255·32 and len(dst) ≤ 255.
func expandMessageXMD(msg, dst []byte, lenInBytes int) []byte {
	const bInBytes, rInBytes = 32, 64
	ell := (lenInBytes + bInBytes - 1) / bInBytes
	dstPrime := append(append([]byte{}, dst...), byte(len(dst)))
	zPad := make([]byte, rInBytes)
	libStr := []byte{byte(lenInBytes >> 8), byte(lenInBytes)}

	h := sha256.New()
	h.Write(zPad)
	h.Write(msg)
	h.Write(libStr)
	h.Write([]byte{0})
	h.Write(dstPrime)
	b0 := h.Sum(nil)

	h.Reset()
	h.Write(b0)
	h.Write([]byte{1})
	h.Write(dstPrime)
	bi := h.Sum(nil)
	out := append([]byte{}, bi...)
	for i := 2; i <= ell; i++ {
		x := make([]byte, bInBytes)
		for j := range x {
			x[j] = b0[j] ^ bi[j]
		}
		h.Reset()
		h.Write(x)
		h.Write([]byte{byte(i)})
		h.Write(dstPrime)
		bi = h.Sum(nil)
		out = append(out, bi...)
	}
	return out[:lenInBytes]
}

// TestExpandMessageXMD checks the reference implementation above against
// RFC 9380 appendix K.1.
func TestExpandMessageXMD(t *testing.T) {
	const dst = "QUUX-V01-CS02-with-expander-SHA256-128"
	tests := []struct {
		msg  string
		n    int
		want string
	}{
		{"", 0x20, "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235"},
		{"abc", 0x20, "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"},
	}
	for _, tt := range tests {
		got := hex.EncodeToString(expandMessageXMD([]byte(tt.msg), []byte(dst), tt.n))
		if got != tt.want {
			t.Errorf("expandMessageXMD(%q, %d) = %s, want %s", tt.msg, tt.n, got, tt.want)
		}
	}
}
