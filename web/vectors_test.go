package web_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/govhub/govhub/crypto/subject"
)

var update = flag.Bool("update", false, "rewrite the vectors in testdata/ (subject_vectors.json, log_keys.json)")

// subjectVector is one published test vector of the subject commitment
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID).
type subjectVector struct {
	Salt       string `json:"salt"`       // hex
	CitizenID  string `json:"citizenId"`  // UTF-8
	Commitment string `json:"commitment"` // hex, 32 bytes
}

const vectorsFile = "testdata/subject_vectors.json"

func makeSubjectVectors() []subjectVector {
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	inputs := []struct {
		salt    []byte
		citizen string
	}{
		{seq, "C000042"},
		{make([]byte, 32), "C000042"},
		{seeded("salt 1"), "C000001"},
		{seeded("salt 2"), "C100000"},
		{bytes.Repeat([]byte{0xff}, 32), "市民-0001"}, // a non-ASCII id, hashed as UTF-8
		{seq[:16], "C000042"},                       // salts are 32 bytes today; the formula takes any
		{nil, "C000042"},
	}
	var out []subjectVector
	for _, in := range inputs {
		out = append(out, subjectVector{
			Salt:       hex.EncodeToString(in.salt),
			CitizenID:  in.citizen,
			Commitment: hex.EncodeToString(subject.Commit(in.salt, in.citizen)),
		})
	}
	return out
}

func readSubjectVectors(t *testing.T) []subjectVector {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(vectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var vs []subjectVector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s holds no vectors", vectorsFile)
	}
	return vs
}

// TestSubjectVectors checks testdata/subject_vectors.json against hub.SubjectCommitment (and this
// test's own reading of the formula); -update rewrites it.
func TestSubjectVectors(t *testing.T) {
	if *update {
		data, err := json.MarshalIndent(makeSubjectVectors(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(vectorsFile), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range readSubjectVectors(t) {
		salt, err := hex.DecodeString(v.Salt)
		if err != nil {
			t.Fatalf("vector %+v: %v", v, err)
		}
		got := hex.EncodeToString(subject.Commit(salt, v.CitizenID))
		if got != v.Commitment {
			t.Errorf("subject.Commit(%s, %q) = %s, want %s", v.Salt, v.CitizenID, got, v.Commitment)
		}
		if mine := hex.EncodeToString(commitment(salt, v.CitizenID)); mine != v.Commitment {
			t.Errorf("SHA-256(prefix ‖ %s ‖ %q) = %s, want %s", v.Salt, v.CitizenID, mine, v.Commitment)
		}
	}
}

// TestSubjectVectorsInBrowser checks verify.js's subjectCommitment, in Chromium, on the vectors
// the Go code is checked against, fetched from the test server as the file is.
func TestSubjectVectorsInBrowser(t *testing.T) {
	want := readSubjectVectors(t)
	var got []string
	eval(t, page(t), `(async () => {
		const vs = await (await fetch('/testdata/subject_vectors.json')).json();
		const out = [];
		for (const v of vs) out.push(window.verifyjs.toHex(await window.verifyjs.subjectCommitment(v.salt, v.citizenId)));
		return out;
	})()`, &got)
	if len(got) != len(want) {
		t.Fatalf("browser computed %d commitments for %d vectors", len(got), len(want))
	}
	for i, v := range want {
		if got[i] != v.Commitment {
			t.Errorf("subjectCommitment(%s, %q) in Chromium = %s, want %s", v.Salt, v.CitizenID, got[i], v.Commitment)
		}
	}
}

// TestCryptoSubjectVectorsInBrowser runs verify.js's subjectCommitment on crypto/subject's own
// published vectors (testdata/vectors.json there, which the Go implementation is checked against),
// so the browser and the hub are held to one file.
func TestCryptoSubjectVectorsInBrowser(t *testing.T) {
	data, err := os.ReadFile(filepath.FromSlash("../crypto/subject/testdata/vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Commitments []struct {
			Name       string `json:"name"`
			Salt       string `json:"salt"`
			Citizen    string `json:"citizen"`
			Commitment string `json:"commitment"`
		} `json:"commitments"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Commitments) == 0 {
		t.Fatal("crypto/subject/testdata/vectors.json holds no commitment vectors")
	}
	inputs, err := json.Marshal(file.Commitments)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	eval(t, page(t), `(async () => {
		const vs = `+string(inputs)+`;
		const out = [];
		for (const v of vs) out.push(window.verifyjs.toHex(await window.verifyjs.subjectCommitment(v.salt, v.citizen)));
		return out;
	})()`, &got)
	if len(got) != len(file.Commitments) {
		t.Fatalf("browser computed %d commitments for %d vectors", len(got), len(file.Commitments))
	}
	for i, v := range file.Commitments {
		if got[i] != v.Commitment {
			t.Errorf("%s: subjectCommitment(%s, %q) in Chromium = %s, want %s", v.Name, v.Salt, v.Citizen, got[i], v.Commitment)
		}
	}
}
