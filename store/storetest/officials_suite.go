package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/govhub/govhub/store"
)

// testOfficials: the officials directory stores a sealed subject once per pseudonym and returns it
// by pseudonym; a second store of the same pseudonym keeps the first.
func testOfficials(t *testing.T, env *Env) {
	ctx := t.Context()
	s := env.Store
	a := store.Official{Pseudonym: "9ca304790f184a7ed154b0a1aebde51f072961d1ce8c118ed3c4f786184b743a", Department: "housing", Sealed: []byte("sealed-a")}
	if _, err := s.Official(ctx, a.Pseudonym); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Official(absent) = %v, want store.ErrNotFound", err)
	}
	if err := s.AddOfficial(ctx, a); err != nil {
		t.Fatalf("AddOfficial = %v", err)
	}
	again := a
	again.Sealed = []byte("sealed-b")
	if err := s.AddOfficial(ctx, again); err != nil {
		t.Fatalf("AddOfficial(again) = %v, want nil", err)
	}
	got, err := s.Official(ctx, a.Pseudonym)
	if err != nil || got.Department != a.Department || !bytes.Equal(got.Sealed, a.Sealed) {
		t.Errorf("Official = %+v, %v; want %+v (the first store kept)", got, err, a)
	}
}
