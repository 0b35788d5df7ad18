package hub

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/store"
)

const recordDigestFile = "testdata/record-digest.txt"

func mustCommit(t testing.TB, m commit.Message, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	c := commit.Commit(m, testBlinding)
	return c[:]
}

func sealed(commitment []byte) store.SealedField {
	return store.SealedField{Ciphertext: []byte("not part of the digest"), Commitment: commitment, Version: 7}
}

// digestExamples are the worked examples of testdata/record-digest.txt.
func digestExamples(t testing.TB) []store.Record {
	salt := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	addr1, err1 := commit.String("北京市朝阳区建国路1号")
	addr2, err2 := commit.String("上海市浦东新区世纪大道2号")
	months := commit.Int(96)
	cond, err3 := commit.String("")
	return []store.Record{
		{Citizen: citizenA, Dataset: "property", Version: 7, Salt: salt(0xa1), Items: []store.Item{
			{Plain: map[string]any{"certificateNo": "京(2020)朝阳区不动产权第0001号", "city": "北京市", "area": 89.5, "acquiredOn": "2020-05-01"},
				Sealed: map[string]store.SealedField{"address": sealed(mustCommit(t, addr1, err1))}},
			{Plain: map[string]any{"certificateNo": "沪(2018)浦东新区不动产权第0002号", "city": "上海市", "area": 120.0, "acquiredOn": "2018-03-15"},
				Sealed: map[string]store.SealedField{"address": sealed(mustCommit(t, addr2, err2))}},
		}},
		{Citizen: citizenA, Dataset: "socialInsurance", Version: 7, Salt: salt(0xb2), Items: []store.Item{
			{Plain: map[string]any{"insured": true, "employer": "北京市某某科技有限公司"},
				Sealed: map[string]store.SealedField{"contributionMonths": sealed(mustCommit(t, months, nil))}},
		}},
		{Citizen: citizenA, Dataset: "health", Version: 7, Salt: salt(0xc3), Items: []store.Item{
			{Plain: map[string]any{"vaccinations": []string{"HepB", "MMR"}},
				Sealed: map[string]store.SealedField{"chronicConditions": sealed(mustCommit(t, cond, err3))}},
		}},
		{Citizen: citizenA, Dataset: "property", Version: 7, Salt: salt(0xd4), Items: []store.Item{}},
	}
}

// documentedContent is the content of a record digest as recordDigest's comment specifies it,
// written out independently: a JSON array with one object per item, keys sorted, plain values
// as they are and sensitive ones as {"commitment": "<hex>"}.
func documentedContent(rec store.Record) string {
	var b strings.Builder
	b.WriteString("[")
	for i, item := range rec.Items {
		if i > 0 {
			b.WriteString(",")
		}
		vals := map[string]string{}
		for k, v := range item.Plain {
			j, _ := json.Marshal(v)
			vals[k] = string(j)
		}
		for k, sf := range item.Sealed {
			vals[k] = `{"commitment":"` + hex.EncodeToString(sf.Commitment) + `"}`
		}
		b.WriteString("{")
		for n, k := range sortedKeys(vals) {
			if n > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%s", k, vals[k])
		}
		b.WriteString("}")
	}
	b.WriteString("]")
	return b.String()
}

type digestGolden struct {
	dataset, salt, content, digest string
}

func readDigestGolden(t *testing.T) []digestGolden {
	t.Helper()
	data, err := os.ReadFile(recordDigestFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []digestGolden
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "record":
			out = append(out, digestGolden{dataset: val})
		case "salt":
			out[len(out)-1].salt = val
		case "content":
			out[len(out)-1].content = val
		case "digest":
			out[len(out)-1].digest = val
		}
	}
	return out
}

// TestRecordDigestGolden pins the record digest's encoding on worked examples, so that it cannot
// change without the golden file changing with it (go test ./hub -run TestRecordDigestGolden -update).
func TestRecordDigestGolden(t *testing.T) {
	examples := digestExamples(t)
	if *update {
		var b strings.Builder
		b.WriteString("# recordDigest worked examples (hub/update.go):\n")
		b.WriteString("# digest = SHA-256(\"govhub/record/v1\" ‖ salt ‖ content), content the JSON array of the items,\n")
		b.WriteString("# each an object (keys sorted) from field name to plain value or {\"commitment\": \"<hex>\"}.\n")
		b.WriteString("# Commitments are Pedersen commitments (crypto/commit) with the blinding 0x1112…30.\n")
		b.WriteString("# Regenerate with: go test ./hub -run TestRecordDigestGolden -update\n")
		for _, rec := range examples {
			fmt.Fprintf(&b, "\nrecord %s\nsalt %x\ncontent %s\ndigest %x\n", rec.Dataset, rec.Salt, documentedContent(rec), recordDigest(rec))
		}
		if err := os.WriteFile(recordDigestFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden := readDigestGolden(t)
	if len(golden) != len(examples) {
		t.Fatalf("%s holds %d examples, want %d (regenerate with -update)", recordDigestFile, len(golden), len(examples))
	}
	for i, rec := range examples {
		g := golden[i]
		t.Run(fmt.Sprintf("%d-%s", i, rec.Dataset), func(t *testing.T) {
			if g.dataset != rec.Dataset || g.salt != hex.EncodeToString(rec.Salt) {
				t.Fatalf("golden example %d is %s with salt %s, want %s with salt %x", i, g.dataset, g.salt, rec.Dataset, rec.Salt)
			}
			if got := documentedContent(rec); got != g.content {
				t.Errorf("content = %s, want %s", got, g.content)
			}
			if got := hex.EncodeToString(recordDigest(rec)); got != g.digest {
				t.Errorf("recordDigest(%s example) = %s, want %s", rec.Dataset, got, g.digest)
			}
			// The golden digest is the documented formula over the golden content.
			s := sha256.New()
			s.Write([]byte("govhub/record/v1"))
			s.Write(rec.Salt)
			s.Write([]byte(g.content))
			if got := hex.EncodeToString(s.Sum(nil)); got != g.digest {
				t.Errorf("SHA-256(prefix ‖ salt ‖ golden content) = %s, the golden digest is %s", got, g.digest)
			}
		})
	}
}

// rebuild copies rec with every map rebuilt by inserting its keys in the given order.
func rebuild(rec store.Record, reverse bool) store.Record {
	out := rec
	out.Items = make([]store.Item, len(rec.Items))
	for i, item := range rec.Items {
		it := store.Item{Plain: map[string]any{}, Sealed: map[string]store.SealedField{}}
		pk, sk := sortedKeys(item.Plain), sortedKeys(item.Sealed)
		if reverse {
			for j := len(pk) - 1; j >= 0; j-- {
				it.Plain[pk[j]] = item.Plain[pk[j]]
			}
			for j := len(sk) - 1; j >= 0; j-- {
				it.Sealed[sk[j]] = item.Sealed[sk[j]]
			}
		} else {
			for _, k := range pk {
				it.Plain[k] = item.Plain[k]
			}
			for _, k := range sk {
				it.Sealed[k] = item.Sealed[k]
			}
		}
		out.Items[i] = it
	}
	return out
}

func TestRecordDigestDeterministic(t *testing.T) {
	for _, rec := range digestExamples(t) {
		want := recordDigest(rec)
		if len(want) != 32 {
			t.Fatalf("recordDigest = %d bytes, want 32", len(want))
		}
		for i := range 50 {
			got := recordDigest(rebuild(rec, i%2 == 0))
			if !bytes.Equal(got, want) {
				t.Fatalf("recordDigest(%s, rebuilt %d) = %x, want %x", rec.Dataset, i, got, want)
			}
		}
		// Neither the version, the ciphertexts nor the seal versions are part of it: sealing
		// again under the ledger index leaves the digest in the entry valid.
		moved := rebuild(rec, false)
		moved.Version = 99
		for _, item := range moved.Items {
			for k, sf := range item.Sealed {
				sf.Ciphertext, sf.Version = []byte("other"), 99
				item.Sealed[k] = sf
			}
		}
		if got := recordDigest(moved); !bytes.Equal(got, want) {
			t.Errorf("recordDigest changed with version and ciphertexts: %x, want %x", got, want)
		}
	}
}

func TestRecordDigestChanges(t *testing.T) {
	base := digestExamples(t)[0] // property, two items
	want := recordDigest(base)
	otherCommitment, err := commit.String("另一个地址")
	tests := []struct {
		name   string
		change func(r *store.Record)
	}{
		{"plain value", func(r *store.Record) { r.Items[0].Plain["city"] = "天津市" }},
		{"float value", func(r *store.Record) { r.Items[1].Plain["area"] = 120.5 }},
		{"value type", func(r *store.Record) { r.Items[0].Plain["acquiredOn"] = []string{"2020-05-01"} }},
		{"commitment", func(r *store.Record) {
			r.Items[0].Sealed["address"] = sealed(mustCommit(t, otherCommitment, err))
		}},
		{"salt", func(r *store.Record) { r.Salt = bytes.Repeat([]byte{0xa2}, 32) }},
		{"no salt", func(r *store.Record) { r.Salt = nil }},
		{"field removed", func(r *store.Record) { delete(r.Items[0].Plain, "city") }},
		{"sealed field removed", func(r *store.Record) { delete(r.Items[1].Sealed, "address") }},
		{"field added", func(r *store.Record) { r.Items[0].Plain["note"] = "" }},
		{"items swapped", func(r *store.Record) { r.Items[0], r.Items[1] = r.Items[1], r.Items[0] }},
		{"item removed", func(r *store.Record) { r.Items = r.Items[:1] }},
		{"no items", func(r *store.Record) { r.Items = nil }},
		{"value moved between items", func(r *store.Record) {
			r.Items[0].Plain["city"], r.Items[1].Plain["city"] = r.Items[1].Plain["city"], r.Items[0].Plain["city"]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rebuild(base, false)
			r.Salt = bytes.Clone(base.Salt)
			tt.change(&r)
			if got := recordDigest(r); bytes.Equal(got, want) {
				t.Errorf("recordDigest after changing the %s = %x, the same as before", tt.name, got)
			}
		})
	}
}
