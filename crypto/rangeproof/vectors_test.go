package rangeproof

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json.
type vectorFile struct {
	Protocol   string      `json:"protocol"`
	Scheme     string      `json:"scheme"`
	Bits       int         `json:"bits"`
	Generators generatorsJ `json:"generators"`
	Vectors    []vector    `json:"vectors"`
}

// generatorsJ lists the first generators, for other implementations to
// check their derivation.
type generatorsJ struct {
	DST string   `json:"dst"`
	G   string   `json:"G"`
	H   string   `json:"H"`
	U   string   `json:"u"`
	Gs  []string `json:"g"` // g_0 … g_3
	Hs  []string `json:"h"` // h_0 … h_3
}

// vector is one proof. The blinding and then the prover's randomness are
// read, in that order, from the SHAKE256 stream of
// "govhub/rangeproof/v1/test-vector/" + seed. Invalid vectors are a valid
// proof of the same seed checked against something else, or altered.
type vector struct {
	Name       string    `json:"name"`
	Seed       string    `json:"seed"`
	Value      int64     `json:"value"`
	Blinding   string    `json:"blinding"`
	Commitment string    `json:"commitment"`
	Statement  Statement `json:"statement"`
	Context    string    `json:"context"` // hex
	Proof      string    `json:"proof"`   // hex
	Valid      bool      `json:"valid"`
	Why        string    `json:"why,omitempty"` // why an invalid vector fails
}

type vectorCase struct {
	name, seed string
	value      int64
	s          Statement
	context    string
	// alter, if set, turns the valid proof into an invalid vector.
	alter func(v *vector, proof []byte) []byte
	why   string
}

var vectorCases = []vectorCase{
	{name: "atLeast", seed: "a", value: 1985, s: AtLeast(1960), context: "certificate 1"},
	{name: "atLeast-edge", seed: "b", value: 18, s: AtLeast(18), context: "certificate 2"},
	{name: "atLeast-top", seed: "c", value: -1 + 1<<Bits - 1, s: AtLeast(-1), context: ""},
	{name: "atLeast-negative", seed: "d", value: -300, s: AtLeast(-1000), context: "request 3"},
	{name: "atMost", seed: "e", value: 1985, s: AtMost(2007), context: "certificate 4"},
	{name: "atMost-edge-negative", seed: "f", value: -5, s: AtMost(-5), context: "request 5"},
	{name: "between", seed: "g", value: 42, s: Between(18, 65), context: "certificate 6"},
	{name: "between-point", seed: "h", value: 0, s: Between(0, 0), context: "certificate 7"},
	{name: "atLeast-other-threshold", seed: "a", value: 1985, s: AtLeast(1960), context: "certificate 1",
		alter: func(v *vector, p []byte) []byte { v.Statement = AtLeast(1961); return p }, why: "another threshold"},
	{name: "atLeast-other-kind", seed: "a", value: 1985, s: AtLeast(1960), context: "certificate 1",
		alter: func(v *vector, p []byte) []byte { v.Statement = AtMost(1960); return p }, why: "another kind"},
	{name: "atLeast-other-context", seed: "a", value: 1985, s: AtLeast(1960), context: "certificate 1",
		alter: func(v *vector, p []byte) []byte { v.Context = hex.EncodeToString([]byte("certificate 2")); return p }, why: "another context"},
	{name: "between-flipped-byte", seed: "g", value: 42, s: Between(18, 65), context: "certificate 6",
		alter: func(v *vector, p []byte) []byte { p[len(p)-1] ^= 1; return p }, why: "last byte flipped"},
	{name: "between-truncated", seed: "g", value: 42, s: Between(18, 65), context: "certificate 6",
		alter: func(v *vector, p []byte) []byte { return p[:len(p)-1] }, why: "truncated"},
	{name: "atMost-scalar-not-canonical", seed: "e", value: 1985, s: AtMost(2007), context: "certificate 4",
		alter: func(v *vector, p []byte) []byte {
			copy(p[offTaux:], bytes.Repeat([]byte{0xff}, 32))
			return p
		}, why: "tau_x not below q"},
}

func makeVectors(t *testing.T) vectorFile {
	gens := generators()
	vf := vectorFile{
		Protocol: Protocol,
		Scheme:   commit.Scheme,
		Bits:     Bits,
		Generators: generatorsJ{
			DST: generatorDST,
			G:   hexPoint(&gens.g),
			H:   hexPoint(&gens.h),
			U:   hexPoint(&gens.u),
		},
	}
	for i := range 4 {
		vf.Generators.Gs = append(vf.Generators.Gs, hexPoint(&gens.gs[i]))
		vf.Generators.Hs = append(vf.Generators.Hs, hexPoint(&gens.hs[i]))
	}
	for _, vc := range vectorCases {
		rnd := sha3.NewSHAKE256()
		rnd.Write([]byte("govhub/rangeproof/v1/test-vector/" + vc.seed))
		r, err := commit.NewBlinding(rnd)
		if err != nil {
			t.Fatal(err)
		}
		c := commit.Commit(commit.Int(vc.value), r)
		p, err := Prove(rnd, c, vc.value, r, vc.s, []byte(vc.context))
		if err != nil {
			t.Fatalf("%s: %v", vc.name, err)
		}
		v := vector{
			Name: vc.name, Seed: vc.seed, Value: vc.value,
			Blinding: hex.EncodeToString(r[:]), Commitment: c.String(),
			Statement: vc.s, Context: hex.EncodeToString([]byte(vc.context)),
			Valid: vc.alter == nil, Why: vc.why,
		}
		if vc.alter != nil {
			p = vc.alter(&v, p)
		}
		v.Proof = hex.EncodeToString(p)
		vf.Vectors = append(vf.Vectors, v)
	}
	return vf
}

// TestVectors regenerates testdata/vectors.json byte for byte, and checks
// every vector in the file with Verify.
func TestVectors(t *testing.T) {
	want, err := json.MarshalIndent(makeVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(vectorsFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the regenerated vectors (run go test -run TestVectors -update after a deliberate change)", vectorsFile)
	}
	var vf vectorFile
	if err := json.Unmarshal(got, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) != len(vectorCases) {
		t.Fatalf("%d vectors in the file, want %d", len(vf.Vectors), len(vectorCases))
	}
	valid := 0
	for _, v := range vf.Vectors {
		c, err := commit.ParseCommitment(v.Commitment)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		ctx, err1 := hex.DecodeString(v.Context)
		proof, err2 := hex.DecodeString(v.Proof)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad hex", v.Name)
		}
		err = Verify(c, v.Statement, ctx, proof)
		if (err == nil) != v.Valid {
			t.Errorf("%s: Verify = %v, want valid %v", v.Name, err, v.Valid)
		}
		if v.Valid {
			valid++
			if len(proof) != ProofSize(v.Statement) {
				t.Errorf("%s: %d bytes, want %d", v.Name, len(proof), ProofSize(v.Statement))
			}
		}
	}
	if valid == 0 || valid == len(vf.Vectors) {
		t.Errorf("%d valid vectors of %d: want both kinds", valid, len(vf.Vectors))
	}
}
