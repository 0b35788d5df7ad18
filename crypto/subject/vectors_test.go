package subject

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json: inputs and outputs, byte strings in hex.
type vectorFile struct {
	Commitments []commitmentVector `json:"commitments"`
	Pseudonyms  []pseudonymVector  `json:"pseudonyms"`
	Requests    []requestVector    `json:"requests"`
	Officials   []officialVector   `json:"officials"`
}

type officialVector struct {
	Name       string `json:"name"`
	Key        string `json:"key"`
	Department string `json:"department"`
	Subject    string `json:"subject"`
	Official   string `json:"official"`
}

type commitmentVector struct {
	Name       string `json:"name"`
	Salt       string `json:"salt"`
	Citizen    string `json:"citizen"`
	Commitment string `json:"commitment"`
}

type pseudonymVector struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Citizen   string `json:"citizen"`
	Pseudonym string `json:"pseudonym"`
}

type requestVector struct {
	Name    string `json:"name"`
	Key     string `json:"key"`
	Request string `json:"request"` // hex
	Digest  string `json:"digest"`
}

// vectorInputs are the inputs of the vectors; -update computes their outputs.
func vectorInputs() vectorFile {
	ones, twos := hex.EncodeToString(bytes.Repeat([]byte{1}, 32)), hex.EncodeToString(bytes.Repeat([]byte{2}, 32))
	counting := make([]byte, 32)
	for i := range counting {
		counting[i] = byte(i)
	}
	seq := hex.EncodeToString(counting)
	return vectorFile{
		Commitments: []commitmentVector{
			{Name: "worked example", Salt: ones, Citizen: "C000001"},
			{Name: "another salt", Salt: seq, Citizen: "C000001"},
			{Name: "another citizen", Salt: ones, Citizen: "C000002"},
			{Name: "national id", Salt: seq, Citizen: "11010519491231002X"},
			{Name: "non-ASCII id", Salt: seq, Citizen: "公民-1"},
			{Name: "empty id", Salt: ones, Citizen: ""},
		},
		Pseudonyms: []pseudonymVector{
			{Name: "worked example", Key: twos, Citizen: "C000001"},
			{Name: "another key", Key: seq, Citizen: "C000001"},
			{Name: "another citizen", Key: twos, Citizen: "C000002"},
			{Name: "non-ASCII id", Key: seq, Citizen: "公民-1"},
		},
		Requests: []requestVector{
			{Name: "worked example", Key: twos, Request: hex.EncodeToString([]byte(`{"query":"{ me { kind } }"}`))},
			{Name: "empty request", Key: twos, Request: ""},
			{Name: "another key", Key: seq, Request: hex.EncodeToString([]byte("GET /tile/entries/000"))},
		},
		Officials: []officialVector{
			{Name: "worked example", Key: twos, Department: "housing", Subject: "clerk-17"},
			{Name: "another department", Key: twos, Department: "tax", Subject: "clerk-17"},
			{Name: "another key", Key: seq, Department: "housing", Subject: "clerk-17"},
			{Name: "non-ASCII subject", Key: seq, Department: "housing", Subject: "办事员-1"},
		},
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestVectors(t *testing.T) {
	if *update {
		v := vectorInputs()
		for i, c := range v.Commitments {
			v.Commitments[i].Commitment = hex.EncodeToString(Commit(mustHex(t, c.Salt), c.Citizen))
		}
		for i, p := range v.Pseudonyms {
			v.Pseudonyms[i].Pseudonym = Pseudonym(mustHex(t, p.Key), p.Citizen)
		}
		for i, r := range v.Requests {
			v.Requests[i].Digest = hex.EncodeToString(RequestDigest(mustHex(t, r.Key), mustHex(t, r.Request)))
		}
		for i, o := range v.Officials {
			v.Officials[i].Official = Official(mustHex(t, o.Key), o.Department, o.Subject)
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Commitments) == 0 || len(v.Pseudonyms) == 0 || len(v.Requests) == 0 || len(v.Officials) == 0 {
		t.Fatalf("%s lacks a kind of vector", vectorsFile)
	}
	for _, c := range v.Commitments {
		if got := hex.EncodeToString(Commit(mustHex(t, c.Salt), c.Citizen)); got != c.Commitment {
			t.Errorf("%s: Commit(%s, %q) = %s, want %s", c.Name, c.Salt, c.Citizen, got, c.Commitment)
		}
	}
	for _, p := range v.Pseudonyms {
		if got := Pseudonym(mustHex(t, p.Key), p.Citizen); got != p.Pseudonym {
			t.Errorf("%s: Pseudonym(%s, %q) = %s, want %s", p.Name, p.Key, p.Citizen, got, p.Pseudonym)
		}
	}
	for _, r := range v.Requests {
		if got := hex.EncodeToString(RequestDigest(mustHex(t, r.Key), mustHex(t, r.Request))); got != r.Digest {
			t.Errorf("%s: RequestDigest(%s, %s) = %s, want %s", r.Name, r.Key, r.Request, got, r.Digest)
		}
	}
	for _, o := range v.Officials {
		if got := Official(mustHex(t, o.Key), o.Department, o.Subject); got != o.Official {
			t.Errorf("%s: Official(%s, %q, %q) = %s, want %s", o.Name, o.Key, o.Department, o.Subject, got, o.Official)
		}
	}
}

// The vectors' inputs are the ones vectorInputs lists (so -update keeps them).
func TestVectorInputs(t *testing.T) {
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	in := vectorInputs()
	for i := range v.Commitments {
		v.Commitments[i].Commitment = ""
	}
	for i := range v.Pseudonyms {
		v.Pseudonyms[i].Pseudonym = ""
	}
	for i := range v.Requests {
		v.Requests[i].Digest = ""
	}
	for i := range v.Officials {
		v.Officials[i].Official = ""
	}
	got, _ := json.Marshal(v)
	want, _ := json.Marshal(in)
	if !bytes.Equal(got, want) {
		t.Errorf("%s inputs differ from vectorInputs:\n got %s\nwant %s", vectorsFile, got, want)
	}
}

func TestNewSalt(t *testing.T) {
	a, err := NewSalt(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil || len(a) != SaltSize || !bytes.Equal(a, bytes.Repeat([]byte{7}, SaltSize)) {
		t.Errorf("NewSalt = %x, %v, want %d bytes of 07", a, err, SaltSize)
	}
	if _, err := NewSalt(bytes.NewReader(make([]byte, SaltSize-1))); err == nil {
		t.Error("NewSalt(short reader) = nil error, want one")
	}
	if _, err := NewSalt(failing{}); err == nil {
		t.Error("NewSalt(failing reader) = nil error, want one")
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("no randomness") }

// A commitment depends on the salt and the citizen; a pseudonym on the key.
func TestCommitDistinct(t *testing.T) {
	salt := bytes.Repeat([]byte{1}, SaltSize)
	other := bytes.Repeat([]byte{3}, SaltSize)
	base := Commit(salt, "C000001")
	if bytes.Equal(base, Commit(other, "C000001")) {
		t.Error("Commit ignores the salt")
	}
	if bytes.Equal(base, Commit(salt, "C000002")) {
		t.Error("Commit ignores the citizen")
	}
	if len(base) != 32 {
		t.Errorf("len(Commit) = %d, want 32", len(base))
	}
	if p := Pseudonym(salt, "C000001"); len(p) != 32 || p == Pseudonym(other, "C000001") {
		t.Errorf("Pseudonym = %q: want 32 hex digits depending on the key", p)
	}
}

// A sealed directory entry opens under its department's key and pseudonym only.
func TestSealOfficial(t *testing.T) {
	key := bytes.Repeat([]byte{2}, KeySize)
	housing, tax := DepartmentKey(key, "housing"), DepartmentKey(key, "tax")
	p := Official(key, "housing", "clerk-17")
	sealed, err := SealOfficial(bytes.NewReader(bytes.Repeat([]byte{9}, 12)), housing, p, "clerk-17")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenOfficial(housing, p, sealed); err != nil || got != "clerk-17" {
		t.Errorf("OpenOfficial = %q, %v; want clerk-17", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		key    []byte
		p      string
		sealed []byte
	}{
		"another department": {tax, p, sealed},
		"another pseudonym":  {housing, Official(key, "housing", "clerk-18"), sealed},
		"flipped byte":       {housing, p, flipped},
		"short":              {housing, p, sealed[:10]},
	} {
		if _, err := OpenOfficial(tc.key, tc.p, tc.sealed); !errors.Is(err, ErrNotOpened) {
			t.Errorf("OpenOfficial(%s) = %v, want ErrNotOpened", name, err)
		}
	}
}
