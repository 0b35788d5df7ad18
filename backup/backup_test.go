package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"filippo.io/age"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func officers(t *testing.T, n int) ([]Officer, []*age.X25519Identity) {
	t.Helper()
	var os []Officer
	var ids []*age.X25519Identity
	for i := range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		os = append(os, Officer{Name: string(rune('a' + i)), Recipient: id.Recipient().String()})
		ids = append(ids, id)
	}
	return os, ids
}

var files = map[string][]byte{"master.key": []byte("m-secret\n"), "index.key": []byte("i-secret\n")}

// Any k of n shares restore exactly the files; fewer, a share twice, a share of another split, a
// changed bundle, or a share opened with another officer's key do not.
func TestSplitRestore(t *testing.T) {
	os, ids := officers(t, 5)
	bundle, shares, err := SplitKeys(files, os, 3, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if bytes.Contains(bundle, files[name]) {
			t.Fatalf("the bundle holds %s in clear", name)
		}
	}
	open := func(i int) Share {
		s, err := OpenShare(shares[os[i].Name], ids[i])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, pick := range [][]int{{0, 1, 2}, {2, 3, 4}, {4, 0, 3}, {0, 1, 2, 3, 4}} {
		var ss []Share
		for _, i := range pick {
			ss = append(ss, open(i))
		}
		got, err := RestoreKeys(bundle, ss)
		if err != nil || !maps.EqualFunc(got, files, bytes.Equal) {
			t.Errorf("RestoreKeys(%v) = %v, %v", pick, got, err)
		}
	}
	if _, err := RestoreKeys(bundle, []Share{open(0), open(1)}); err == nil || !strings.Contains(err.Error(), "needs 3") {
		t.Errorf("two shares of 3 = %v", err)
	}
	if _, err := RestoreKeys(bundle, []Share{open(0), open(1), open(1)}); err == nil {
		t.Errorf("a share given twice = nil error")
	}
	lying := open(1)
	lying.Threshold = 2 // a share that claims a lower threshold gets a wrong key: the bundle says so
	if _, err := RestoreKeys(bundle, []Share{lying, open(0)}); err == nil || !strings.Contains(err.Error(), "do not open") {
		t.Errorf("two shares claiming threshold 2 = nil error")
	}
	bad := open(2)
	bad.Secret = bytes.Clone(bad.Secret)
	bad.Secret[0] ^= 1
	if _, err := RestoreKeys(bundle, []Share{open(0), open(1), bad}); err == nil {
		t.Errorf("a changed share = nil error")
	}
	other, _, err := SplitKeys(files, os, 3, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RestoreKeys(other, []Share{open(0), open(1), open(2)}); err == nil || !strings.Contains(err.Error(), "another key bundle") {
		t.Errorf("shares of another split = %v", err)
	}
	changed := bytes.Clone(bundle)
	changed[len(changed)/2] ^= 1
	if _, err := RestoreKeys(changed, []Share{open(0), open(1), open(2)}); err == nil {
		t.Errorf("a changed bundle = nil error")
	}
	if _, err := OpenShare(shares[os[0].Name], ids[1]); err == nil {
		t.Errorf("a share opened with another officer's identity = nil error")
	}
	for _, tc := range []struct {
		os []Officer
		k  int
	}{{os[:1], 1}, {os, 1}, {os, 6}, {append(os[:2:2], os[0]), 2}, {[]Officer{{"x", "age1nope"}, os[1]}, 2}} {
		if _, _, err := SplitKeys(files, tc.os, tc.k, rand.Reader); err == nil {
			t.Errorf("SplitKeys(%d officers, threshold %d) = nil error", len(tc.os), tc.k)
		}
	}
}

// An export gives back every document in order; a wrong passphrase, a truncated or a changed
// export fails.
func TestExportRoundTrip(t *testing.T) {
	pass, err := ExportPassphrase(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := NewExportWriter(&buf, pass)
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		c string
		d bson.Raw
	}
	var want []doc
	for i := range 1200 {
		c := "records"
		if i%3 == 0 {
			c = "datakeys"
		}
		d, _ := bson.Marshal(bson.D{{Key: "_id", Value: i}, {Key: "v", Value: strings.Repeat("x", i%50)}})
		want = append(want, doc{c, d})
		if err := w.Add(c, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("xxxxxxxxxx")) {
		t.Fatal("the export is not encrypted")
	}
	read := func(b []byte, pass string) ([]doc, error) {
		r, err := NewExportReader(bytes.NewReader(b), pass)
		if err != nil {
			return nil, err
		}
		var got []doc
		for {
			c, d, err := r.Next()
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			if err != nil {
				return got, err
			}
			got = append(got, doc{c, d})
		}
	}
	got, err := read(buf.Bytes(), pass)
	if err != nil || len(got) != len(want) {
		t.Fatalf("read back %d documents, %v; want %d", len(got), err, len(want))
	}
	for i := range want {
		if got[i].c != want[i].c || !bytes.Equal(got[i].d, want[i].d) {
			t.Fatalf("document %d = %s %v, want %s %v", i, got[i].c, got[i].d, want[i].c, want[i].d)
		}
	}
	other, _ := ExportPassphrase(bytes.Repeat([]byte{8}, 32))
	if _, err := read(buf.Bytes(), other); err == nil {
		t.Errorf("another master key's passphrase opened the export")
	}
	for _, cut := range []int{buf.Len() - 1, buf.Len() - 100, buf.Len() / 2} {
		if _, err := read(buf.Bytes()[:cut], pass); err == nil {
			t.Errorf("an export cut at %d of %d bytes read without an error", cut, buf.Len())
		}
	}
	changed := bytes.Clone(buf.Bytes())
	changed[len(changed)/2] ^= 1
	if _, err := read(changed, pass); err == nil {
		t.Errorf("a changed export read without an error")
	}
}
