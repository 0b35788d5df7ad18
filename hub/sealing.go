package hub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/store"
)

// A sealed value's plaintext is its opening, the value and the blinding of its commitment:
//
//	0x01 (format version) ‖ kind (1 byte: 'i' integer, 's' string, 'd' date) ‖ blinding (32 bytes) ‖ value
//
// where value is a big-endian two's-complement int64 for integers and UTF-8 text otherwise (dates as
// YYYY-MM-DD). It is sealed with AES-256-GCM under the citizen's data key, with associated data
// binding citizen, dataset, field (items of list datasets as "field#i") and the version under which
// it was sealed: store.PendingVersion while the update waits for its ledger index, then that index.

const openingVersion = 1

func kindTag(k dataset.Kind) (byte, error) {
	switch k {
	case dataset.Int:
		return 'i', nil
	case dataset.String, dataset.Enum:
		return 's', nil
	case dataset.Date:
		return 'd', nil
	}
	return 0, fmt.Errorf("a %v field cannot be sensitive", k)
}

// writeScheme is the commitment scheme new values of kind k are committed under, as stored in
// store.SealedField.Scheme: dates as day numbers (commit.SchemeV2, so that age predicates can be
// proven), everything else under v1, stored as the empty name as before schemes were recorded
// (integers and strings map alike under both, so their records and digests do not change).
// hashedDates keeps dates under v1 too (WithHashedDates).
func writeScheme(k dataset.Kind, hashedDates bool) string {
	if k == dataset.Date && !hashedDates {
		return commit.SchemeV2
	}
	return ""
}

// schemeName is the name shown with a stored commitment: its recorded scheme, v1 when none is.
func schemeName(sf store.SealedField) string {
	if sf.Scheme == "" {
		return commit.Scheme
	}
	return sf.Scheme
}

// message maps a value of the given kind to what its commitment commits to, under scheme (a
// store.SealedField.Scheme: only dates depend on it).
func message(k dataset.Kind, v any, scheme string) (commit.Message, error) {
	if scheme != "" && !commit.KnownScheme(scheme) {
		return commit.Message{}, fmt.Errorf("unknown commitment scheme %q", scheme)
	}
	switch k {
	case dataset.Int:
		n, ok := v.(int64)
		if !ok {
			return commit.Message{}, fmt.Errorf("want an int64, got %T", v)
		}
		return commit.Int(n), nil
	case dataset.String, dataset.Enum:
		s, ok := v.(string)
		if !ok {
			return commit.Message{}, fmt.Errorf("want a string, got %T", v)
		}
		return commit.String(s)
	case dataset.Date:
		s, ok := v.(string)
		if !ok {
			return commit.Message{}, fmt.Errorf("want a date string, got %T", v)
		}
		return commit.DateFor(scheme, s)
	}
	return commit.Message{}, fmt.Errorf("a %v field cannot be sensitive", k)
}

func encodeOpening(k dataset.Kind, v any, r commit.Blinding) ([]byte, error) {
	tag, err := kindTag(k)
	if err != nil {
		return nil, err
	}
	out := append([]byte{openingVersion, tag}, r[:]...)
	switch tag {
	case 'i':
		out = binary.BigEndian.AppendUint64(out, uint64(v.(int64)))
	default:
		out = append(out, v.(string)...)
	}
	return out, nil
}

func decodeOpening(k dataset.Kind, b []byte) (any, commit.Blinding, error) {
	var r commit.Blinding
	tag, err := kindTag(k)
	if err != nil {
		return nil, r, err
	}
	if len(b) < 34 || b[0] != openingVersion || b[1] != tag {
		return nil, r, errors.New("malformed opening")
	}
	if r, err = commit.ParseBlinding(b[2:34]); err != nil {
		return nil, r, err
	}
	rest := b[34:]
	if tag == 'i' {
		if len(rest) != 8 {
			return nil, r, errors.New("malformed integer opening")
		}
		return int64(binary.BigEndian.Uint64(rest)), r, nil
	}
	if !utf8.Valid(rest) {
		return nil, r, errors.New("malformed text opening")
	}
	return string(rest), r, nil
}

// sealKey is the name a sealed value is bound to: the field, and for list datasets its item
// (seal.ItemField). Entries name the value "dataset." + sealKey.
func sealKey(ds *dataset.Dataset, field string, item int) string {
	if ds.List {
		return seal.ItemField(field, item)
	}
	return field
}

// sealAD is the associated data of a sealed value (package seal specifies its encoding).
func sealAD(citizen string, ds *dataset.Dataset, field string, item int, version uint64) seal.AD {
	if ds.List {
		return seal.ItemAD(citizen, ds.Name, field, item, version)
	}
	return seal.AD{Citizen: citizen, Dataset: ds.Name, Field: field, Version: version}
}

// sealValue commits to v under scheme (a store.SealedField.Scheme) and seals its opening under version.
func sealValue(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, v any, r commit.Blinding, version uint64, scheme string) (store.SealedField, error) {
	m, err := message(f.Kind, v, scheme)
	if err != nil {
		return store.SealedField{}, fmt.Errorf("%s: %w", f.Path(), err)
	}
	c := commit.Commit(m, r)
	plain, err := encodeOpening(f.Kind, v, r)
	if err != nil {
		return store.SealedField{}, err
	}
	ct, err := dk.Seal(sealAD(citizen, ds, f.Name, item, version), plain)
	if err != nil {
		return store.SealedField{}, fmt.Errorf("sealing %s: %w", f.Path(), err)
	}
	return store.SealedField{Ciphertext: ct, Commitment: c[:], Version: version, Scheme: scheme}, nil
}

// openValue unseals a sensitive value and checks that it opens its stored commitment.
func openValue(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, sf store.SealedField) (any, error) {
	plain, err := dk.Open(sealAD(citizen, ds, f.Name, item, sf.Version), sf.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("unsealing %s of %s: %w", f.Path(), citizen, err)
	}
	v, r, err := decodeOpening(f.Kind, plain)
	if err != nil {
		return nil, fmt.Errorf("unsealing %s of %s: %w", f.Path(), citizen, err)
	}
	// Only its form is checked, not that it is a point of G1 (a square root and a subgroup check):
	// Verify computes the commitment to the opening and compares the bytes, which only a
	// commitment to that opening matches.
	c, err := commit.CommitmentFromAuthenticated(sf.Commitment)
	if err != nil {
		return nil, fmt.Errorf("stored commitment of %s: %w", f.Path(), err)
	}
	m, err := message(f.Kind, v, sf.Scheme)
	if err != nil {
		return nil, err
	}
	if err := commit.Verify(c, m, r); err != nil {
		return nil, fmt.Errorf("the sealed %s of %s does not open its commitment: %w", f.Path(), citizen, err)
	}
	return v, nil
}

// reseal moves a value sealed under one version to another (after the ledger gave the index).
func reseal(dk *seal.DataKey, citizen string, ds *dataset.Dataset, field string, item int, sf store.SealedField, version uint64) (store.SealedField, error) {
	plain, err := dk.Open(sealAD(citizen, ds, field, item, sf.Version), sf.Ciphertext)
	if err != nil {
		return store.SealedField{}, fmt.Errorf("unsealing %s.%s of %s: %w", ds.Name, sealKey(ds, field, item), citizen, err)
	}
	ct, err := dk.Seal(sealAD(citizen, ds, field, item, version), plain)
	if err != nil {
		return store.SealedField{}, err
	}
	return store.SealedField{Ciphertext: ct, Commitment: sf.Commitment, Version: version, Scheme: sf.Scheme}, nil
}

// keyring unwraps the citizens' data keys.
type keyring struct {
	keys   KeyReader
	master MasterKeys
	cache  *dataKeyCache // nil: none (recordcache.go)
}

// dataKey returns the citizen's data key, or an error wrapping store.ErrNotFound if they have none.
func (k keyring) dataKey(ctx context.Context, citizen string) (*seal.DataKey, error) {
	if k.cache != nil {
		if dk, ok := k.cache.lru.Get(citizen); ok {
			return dk, nil
		}
	}
	dk, err := k.storedDataKey(ctx, citizen)
	if err == nil && k.cache != nil {
		k.cache.lru.Add(citizen, dk)
	}
	return dk, err
}

// storedDataKey reads and unwraps the citizen's data key.
func (k keyring) storedDataKey(ctx context.Context, citizen string) (*seal.DataKey, error) {
	wrapped, err := k.keys.DataKey(ctx, citizen)
	if err != nil {
		return nil, fmt.Errorf("reading the data key of %s: %w", citizen, err)
	}
	return k.unwrap(citizen, wrapped)
}

func (k keyring) unwrap(citizen string, wrapped []byte) (*seal.DataKey, error) {
	dk, err := k.master.Unwrap(citizen, wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrapping the data key of %s: %w", citizen, err)
	}
	return dk, nil
}

// dataKeyOrNew returns the citizen's data key, making and storing one if there is none.
func (u *Updater) dataKeyOrNew(ctx context.Context, citizen string) (*seal.DataKey, error) {
	wrapped, err := u.keys.DataKey(ctx, citizen)
	if errors.Is(err, store.ErrNotFound) {
		dk, err := seal.NewDataKey(u.rand)
		if err != nil {
			return nil, err
		}
		w, err := u.keyring.master.Wrap(citizen, dk)
		if err != nil {
			return nil, err
		}
		err = u.keys.AddDataKey(ctx, citizen, w)
		if err == nil {
			return dk, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("storing the data key of %s: %w", citizen, err)
		}
		wrapped, err = u.keys.DataKey(ctx, citizen) // someone else made it first
	}
	if err != nil {
		return nil, fmt.Errorf("reading the data key of %s: %w", citizen, err)
	}
	return u.keyring.unwrap(citizen, wrapped)
}
