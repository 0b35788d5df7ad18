package subject_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/govhub/govhub/crypto/subject"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, subject.KeySize) }

func TestRingRotate(t *testing.T) {
	r, err := subject.NewRing(key(1))
	if err != nil {
		t.Fatal(err)
	}
	before := r.Pseudonym("C000001")
	if want := subject.Pseudonym(key(1), "C000001"); before != want {
		t.Fatalf("Pseudonym = %s, want %s", before, want)
	}
	gen := r.Generation()
	if err := r.Rotate(key(2)); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(key(3)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Current(), key(3)) || len(r.Keys()) != 3 || !bytes.Equal(r.Keys()[1], key(2)) || !bytes.Equal(pseudonymKey(r), key(1)) {
		t.Errorf("after two rotations: current %x, keys %d, pseudonym key %x", r.Current()[:1], len(r.Keys()), pseudonymKey(r)[:1])
	}
	if r.Generation() == gen {
		t.Errorf("Generation did not change with a rotation")
	}
	// Pseudonyms stay under the first key; request digests follow the current key.
	if got := r.Pseudonym("C000001"); got != before {
		t.Errorf("Pseudonym after rotations = %s, want %s (unchanged)", got, before)
	}
	if got, want := r.RequestDigest([]byte("q")), subject.RequestDigest(key(3), []byte("q")); !bytes.Equal(got, want) {
		t.Errorf("RequestDigest = %x, want it under the current key %x", got, want)
	}
	if err := r.Rotate(key(2)); err == nil {
		t.Errorf("Rotate(a key held) = nil error")
	}
	if err := r.Rotate(make([]byte, 16)); err == nil {
		t.Errorf("Rotate(16 bytes) = nil error")
	}
}

func pseudonymKey(r *subject.Ring) []byte {
	k, _ := r.PseudonymKeys()
	return k
}

// TestRingSetPseudonymKeys: naming the pseudonym key (a re-keying of the pseudonyms) moves
// pseudonyms to it, keeps the former keys listed, survives a rotation and a reload, and refuses a
// key the ring does not hold.
func TestRingSetPseudonymKeys(t *testing.T) {
	r, err := subject.NewRing(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if k, former := r.PseudonymKeys(); !bytes.Equal(k, key(1)) || len(former) != 0 {
		t.Fatalf("before: pseudonym key %x, former %d; want the oldest and none", k[:1], len(former))
	}
	gen := r.Generation()
	if err := r.SetPseudonymKeys(subject.KeyID(key(2)), []string{subject.KeyID(key(1))}); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Pseudonym("C000001"), subject.Pseudonym(key(2), "C000001"); got != want {
		t.Errorf("Pseudonym = %s, want it under key 2 %s", got, want)
	}
	if r.Generation() == gen {
		t.Errorf("Generation did not change")
	}
	check := func(when string, wantFormer int) {
		t.Helper()
		k, former := r.PseudonymKeys()
		if !bytes.Equal(k, key(2)) || len(former) != wantFormer || wantFormer == 1 && !bytes.Equal(former[0], key(1)) {
			t.Errorf("%s: pseudonym key %x, %d former; want key 2 and %d former", when, k[:1], len(former), wantFormer)
		}
	}
	check("after setting", 1)
	if err := r.Rotate(key(3)); err != nil {
		t.Fatal(err)
	}
	check("after a rotation", 1)
	if _, err := r.Update(key(3), key(2), key(1)); err != nil {
		t.Fatal(err)
	}
	check("after a reload", 1)
	if err := r.SetPseudonymKeys(subject.KeyID(key(2)), nil); err != nil {
		t.Fatal(err)
	}
	check("after the move", 0)
	if err := r.SetPseudonymKeys(subject.KeyID(key(9)), nil); err == nil {
		t.Errorf("SetPseudonymKeys(a key not held) = nil error")
	}
	if err := r.SetPseudonymKeys(subject.KeyID(key(3)), []string{subject.KeyID(key(9))}); err == nil {
		t.Errorf("SetPseudonymKeys(a former key not held) = nil error")
	}
	check("after refusals", 0)
}

func TestNewRingRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current []byte
		prev    [][]byte
	}{
		{"short current", make([]byte, 31), nil},
		{"short previous", key(1), [][]byte{make([]byte, 33)}},
		{"repeated", key(1), [][]byte{key(2), key(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := subject.NewRing(tc.current, tc.prev...); err == nil {
				t.Errorf("NewRing = nil error")
			}
		})
	}
}

func TestRingUpdate(t *testing.T) {
	tests := []struct {
		name    string
		current []byte
		prev    [][]byte
		changed bool
		err     error
		want    [][]byte // the ring's keys afterwards
	}{
		{name: "same", current: key(2), prev: [][]byte{key(1)}, want: [][]byte{key(2), key(1)}},
		{name: "rotated elsewhere", current: key(3), prev: [][]byte{key(2), key(1)}, changed: true,
			want: [][]byte{key(3), key(2), key(1)}},
		// Read between the two writes of a rotation: the previous file names the current key.
		{name: "halfway", current: key(2), prev: [][]byte{key(2), key(1)}, want: [][]byte{key(2), key(1)}},
		// An older copy of the previous file never drops a key held.
		{name: "file lost a key", current: key(3), prev: [][]byte{key(1)}, changed: true,
			want: [][]byte{key(3), key(2), key(1)}},
		{name: "another pseudonym key", current: key(3), prev: [][]byte{key(2), key(9)}, err: subject.ErrPseudonymKey,
			want: [][]byte{key(2), key(1)}},
		{name: "no previous file", current: key(2), err: subject.ErrPseudonymKey, want: [][]byte{key(2), key(1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := subject.NewRing(key(2), key(1))
			if err != nil {
				t.Fatal(err)
			}
			changed, err := r.Update(tc.current, tc.prev...)
			if changed != tc.changed || !errors.Is(err, tc.err) {
				t.Errorf("Update = %v, %v; want %v, %v", changed, err, tc.changed, tc.err)
			}
			got := r.Keys()
			if len(got) != len(tc.want) {
				t.Fatalf("keys after Update: %d, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("key %d after Update = %x…, want %x…", i, got[i][:1], tc.want[i][:1])
				}
			}
		})
	}
}

// Find tries every key, and reads the key set again (once) when none matches.
func TestRingFind(t *testing.T) {
	r, err := subject.NewRing(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	mac := func(k []byte) []byte { return subject.RequestDigest(k, []byte("cursor")) }
	old := mac(key(1))
	if k, ok := r.Find(func(k []byte) bool { return bytes.Equal(mac(k), old) }); !ok || !bytes.Equal(k, key(1)) {
		t.Errorf("Find(under the previous key) = %x, %v", k, ok)
	}
	reloads := 0
	r.SetReload(func() error {
		reloads++
		_, err := r.Update(key(3), key(2), key(1))
		return err
	})
	// Made by another instance under a key this one has not read yet.
	newer := mac(key(3))
	if k, ok := r.Find(func(k []byte) bool { return bytes.Equal(mac(k), newer) }); !ok || !bytes.Equal(k, key(3)) || reloads != 1 {
		t.Errorf("Find(under a key rotated in elsewhere) = %x, %v after %d reloads", k, ok, reloads)
	}
	// Under no key: refused, and the files are not read again within the second.
	if _, ok := r.Find(func(k []byte) bool { return false }); ok || reloads != 1 {
		t.Errorf("Find(nothing matches) = true or read the files again (%d reloads)", reloads)
	}
}

func TestKeyID(t *testing.T) {
	// The worked example of the package doc: index key 32 bytes of 0x02.
	const want = "6f0e6b81188adad2f52cb848a594781fd7137aa2f032882c699c5a5dadf2ae8f"
	if got := subject.KeyID(key(2)); got != want {
		t.Errorf("KeyID(32 bytes of 0x02) = %s, want %s", got, want)
	}
	if subject.KeyID(key(1)) == want {
		t.Errorf("KeyID is the same for two keys")
	}
}
