package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary bytes and associated data to Open. It must never
// panic, must fail with ErrOpen unless the input is authentic, and whatever
// it opens must also open with the standard library under the documented
// format.
func FuzzOpen(f *testing.F) {
	v := readVectors(f)
	for _, s := range v.Sealed {
		f.Add(s.Key, s.Citizen, s.Dataset, s.Field, s.Version, unhex(f, s.Sealed))
	}
	s0 := v.Sealed[0]
	f.Add(s0.Key, s0.Citizen, s0.Dataset, s0.Field, s0.Version, []byte{})
	f.Add(s0.Key, s0.Citizen, s0.Dataset, s0.Field, s0.Version, []byte{0x01})
	f.Add(s0.Key, s0.Citizen, s0.Dataset, s0.Field, s0.Version, make([]byte, Overhead))
	f.Fuzz(func(t *testing.T, keyHex, citizen, dataset, field string, version uint64, sealed []byte) {
		key := unhex(t, v.Sealed[0].Key)
		for _, s := range v.Sealed { // one of the vector keys, chosen by the input
			if s.Key == keyHex {
				key = unhex(t, s.Key)
			}
		}
		dk, err := NewDataKey(bytes.NewReader(key))
		if err != nil {
			t.Fatal(err)
		}
		ad := AD{Citizen: citizen, Dataset: dataset, Field: field, Version: version}
		pt, err := dk.Open(ad, sealed)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %v, want an error wrapping ErrOpen", err)
			}
			return
		}
		ref, rerr := refOpen(t, key, refSealAD(ad), sealed)
		if rerr != nil || !bytes.Equal(ref, pt) {
			t.Fatalf("Open = %x, but the reference gives %x, %v", pt, ref, rerr)
		}
	})
}

// FuzzUnwrap feeds arbitrary bytes to Unwrap: it must never panic and must
// fail with ErrOpen unless the input is authentic.
func FuzzUnwrap(f *testing.F) {
	v := readVectors(f)
	w := v.Wrapped[0]
	f.Add(w.Citizen, unhex(f, w.Wrapped))
	f.Add(w.Citizen, []byte{})
	f.Add("", unhex(f, w.Wrapped))
	f.Fuzz(func(t *testing.T, citizen string, wrapped []byte) {
		m, err := NewMasterKey(unhex(t, w.MasterKey))
		if err != nil {
			t.Fatal(err)
		}
		dk, err := m.Unwrap(citizen, wrapped)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Unwrap = %v, want an error wrapping ErrOpen", err)
			}
			return
		}
		ref, rerr := refOpen(t, unhex(t, w.MasterKey), refAD("govhub/seal/v1/dek", citizen), wrapped)
		if rerr != nil || !bytes.Equal(ref, dk.key[:]) {
			t.Fatalf("Unwrap = a key the reference does not give: %v", rerr)
		}
	})
}
