package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

const ringVectorsFile = "testdata/ring-vectors.json"

type ringVector struct {
	MasterKey string `json:"masterKey"`
	KeyID     string `json:"keyId"` // first 8 bytes of SHA-256("govhub/seal/master-id/v1" ‖ key)
	Citizen   string `json:"citizen"`
	AD        string `json:"ad"`
	Nonce     string `json:"nonce"`
	DataKey   string `json:"dataKey"`
	Wrapped   string `json:"wrapped"`
}

// buildRingVector computes the version-2 wrap with the standard library only (refSeal), not with
// the package's code.
func buildRingVector(t testing.TB) ringVector {
	mk, nonce, dk := fixedBytes(KeySize, 210), fixedBytes(12, 211), fixedBytes(KeySize, 212)
	h := sha256.Sum256(append([]byte("govhub/seal/master-id/v1"), mk...))
	id := h[:8]
	ad := append(refAD("govhub/seal/v2/dek", "C000001"), id...)
	ct := refSeal(t, mk, nonce, ad, dk) // 0x01 ‖ nonce ‖ ciphertext ‖ tag
	wrapped := append(append([]byte{0x02}, id...), ct[1:]...)
	return ringVector{MasterKey: hex.EncodeToString(mk), KeyID: hex.EncodeToString(id), Citizen: "C000001",
		AD: hex.EncodeToString(ad), Nonce: hex.EncodeToString(nonce), DataKey: hex.EncodeToString(dk),
		Wrapped: hex.EncodeToString(wrapped)}
}

func TestRingVectorGolden(t *testing.T) {
	got, err := json.MarshalIndent(buildRingVector(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(ringVectorsFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(ringVectorsFile)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; computed:\n%s", ringVectorsFile, got)
	}
}

// TestRingVector opens the published version-2 wrap with the package's API.
func TestRingVector(t *testing.T) {
	b, err := os.ReadFile(ringVectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v ringVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	id := KeyID(unhex(t, v.MasterKey))
	if hex.EncodeToString(id[:]) != v.KeyID {
		t.Errorf("KeyID = %x, want %s", id, v.KeyID)
	}
	if got := hex.EncodeToString(ringAD(v.Citizen, id)); got != v.AD {
		t.Errorf("ringAD = %s, want %s", got, v.AD)
	}
	r, err := NewRing(unhex(t, v.MasterKey))
	if err != nil {
		t.Fatal(err)
	}
	dk, err := r.Unwrap(v.Citizen, unhex(t, v.Wrapped))
	if err != nil {
		t.Fatalf("Unwrap(vector) = %v", err)
	}
	if hex.EncodeToString(dk.key[:]) != v.DataKey {
		t.Errorf("unwrapped %x, want %s", dk.key, v.DataKey)
	}
	if WrappedUnder(unhex(t, v.Wrapped)) != v.KeyID {
		t.Errorf("WrappedUnder = %q, want %s", WrappedUnder(unhex(t, v.Wrapped)), v.KeyID)
	}
}

func TestRingRotate(t *testing.T) {
	k1, k2 := fixedBytes(KeySize, 1), fixedBytes(KeySize, 2)
	first, err := NewMasterKey(k1)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := first.Wrap("C000001", dk) // made before rotation existed
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRing(k1)
	if err != nil {
		t.Fatal(err)
	}
	under1, err := r.Wrap("C000001", dk)
	if err != nil {
		t.Fatal(err)
	}
	id1, id2 := KeyID(k1), KeyID(k2)
	if WrappedUnder(under1) != hex.EncodeToString(id1[:]) || len(under1) != WrappedRingSize {
		t.Fatalf("wrap under the first key names %q (%d bytes)", WrappedUnder(under1), len(under1))
	}
	if err := r.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	if r.Current() != hex.EncodeToString(id2[:]) || !r.Has(hex.EncodeToString(id1[:])) {
		t.Fatalf("after rotation: current %s", r.Current())
	}
	under2, err := r.Wrap("C000001", dk)
	if err != nil {
		t.Fatal(err)
	}
	if WrappedUnder(under2) != hex.EncodeToString(id2[:]) {
		t.Fatalf("new wrap names %q, want the new key", WrappedUnder(under2))
	}
	for name, w := range map[string][]byte{"v1": v1, "under the old key": under1, "under the new key": under2} {
		got, err := r.Unwrap("C000001", w)
		if err != nil || got.key != dk.key {
			t.Errorf("%s: Unwrap = %v", name, err)
		}
		if _, err := r.Unwrap("C000002", w); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: another citizen's unwrap = %v, want ErrOpen", name, err)
		}
	}
	// A ring without the old key: the version-2 wrap names an unknown key; the v1 wrap fails.
	only2, _ := NewRing(k2)
	if _, err := only2.Unwrap("C000001", under1); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrOpen) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := only2.Unwrap("C000001", v1); !errors.Is(err, ErrOpen) {
		t.Errorf("v1 under a key not held: %v", err)
	}
	// Changing the id byte to another held key's fails authentication; every flipped byte fails.
	swapped := bytes.Clone(under1)
	copy(swapped[1:], id2[:])
	if _, err := r.Unwrap("C000001", swapped); !errors.Is(err, ErrOpen) {
		t.Errorf("id swapped: %v", err)
	}
	for i := range under2 {
		b := bytes.Clone(under2)
		b[i] ^= 0x01
		if _, err := r.Unwrap("C000001", b); err == nil {
			t.Errorf("byte %d flipped: unwrapped", i)
		}
	}
	// Rotating back to a key already held makes it current without duplicating it.
	if err := r.Rotate(k1); err != nil || r.Current() != hex.EncodeToString(id1[:]) {
		t.Errorf("rotate back: %v, current %s", err, r.Current())
	}
	if len(r.keys) != 2 {
		t.Errorf("ring holds %d keys, want 2", len(r.keys))
	}
}
