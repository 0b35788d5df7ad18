// Package seal encrypts sensitive field values at rest with AES-256-GCM
// under per-citizen data keys, which are themselves encrypted ("wrapped")
// under a master key.
//
// Destroying a citizen's wrapped data key makes every value sealed under it
// unreadable (crypto-shredding). Associated data binds each ciphertext to
// the citizen, dataset, field and record version it was sealed for, so a
// ciphertext copied to another place fails to open; a wrapped data key is
// likewise bound to its citizen.
//
// # Sealed format
//
// A sealed value and a wrapped data key have the same layout:
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
//
// The nonce is random. A sealed value is 29 bytes longer than its
// plaintext; a wrapped data key is 61 bytes. Random 96-bit nonces keep
// AES-GCM safe for up to 2³² messages under one key, far more than one
// citizen's values or one master key's data keys.
//
// # Associated data
//
// The associated data is a sequence of length-prefixed strings, each a
// 4-byte big-endian length followed by the bytes, so that no two different
// inputs encode alike (("ab", "c") and ("a", "bc") differ). The first
// string names the purpose and the format version.
//
// For a sealed value ([AD]):
//
//	lp("govhub/seal/v1") || lp(Citizen) || lp(Dataset) || lp(Field) || Version (8 bytes, big-endian)
//
// For example AD{Citizen: "C000001", Dataset: "tax", Field: "annualIncome",
// Version: 7} encodes as
//
//	0000000e 676f766875622f7365616c2f7631  "govhub/seal/v1"
//	00000007 43303030303031                "C000001"
//	00000003 746178                        "tax"
//	0000000c 616e6e75616c496e636f6d65      "annualIncome"
//	0000000000000007                       version 7
//
// An item of a list dataset (a citizen's properties, say) is sealed field by
// field like a plain record, its field named "field#i" with i its position
// in the list, in decimal ([ItemAD], [ItemField]): item 2's "address" of
// dataset "property" at version 9 encodes as
//
//	0000000e 676f766875622f7365616c2f7631  "govhub/seal/v1"
//	00000007 43303030303031                "C000001"
//	00000008 70726f7065727479              "property"
//	00000009 616464726573732332             "address#2"
//	0000000000000009                       version 9
//
// For a wrapped data key:
//
//	lp("govhub/seal/v1/dek") || lp(citizen)
//
// so that "C000001" gives
//
//	00000012 676f766875622f7365616c2f76312f64656b  "govhub/seal/v1/dek"
//	00000007 43303030303031                        "C000001"
//
// Citizen, dataset and field must not be empty.
//
// # Errors and secrets
//
// Every failure to open or unwrap, whatever its cause (wrong key, moved or
// tampered ciphertext, truncated input), wraps [ErrOpen]. Error messages
// never contain key material or plaintext, and keys print as REDACTED.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

const (
	nonceSize = 12
	tagSize   = 16
)

const (
	// KeySize is the size in bytes of master and data keys.
	KeySize = 32

	// Version is the first byte of every sealed value and wrapped key.
	Version byte = 0x01

	// Overhead is how many bytes sealing adds to a plaintext.
	Overhead = 1 + nonceSize + tagSize

	// WrappedSize is the size in bytes of a wrapped data key.
	WrappedSize = KeySize + Overhead
)

const (
	sealLabel = "govhub/seal/v1"
	wrapLabel = "govhub/seal/v1/dek"
)

var (
	// ErrOpen means a sealed value or wrapped key could not be opened: wrong
	// key, wrong associated data, tampering or a malformed input.
	ErrOpen = errors.New("seal: cannot open sealed data")

	// ErrInvalidAD means associated data is missing a citizen, dataset or
	// field.
	ErrInvalidAD = errors.New("seal: incomplete associated data")
)

// MasterKey wraps and unwraps data keys. It is safe for concurrent use.
// Only keys returned by [NewMasterKey] are usable.
type MasterKey struct {
	aead cipher.AEAD
}

// NewMasterKey returns the master key with the given 32 bytes. It keeps no
// reference to b.
func NewMasterKey(b []byte) (*MasterKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("seal: master key is %d bytes, want %d", len(b), KeySize)
	}
	aead, err := newAEAD(b)
	if err != nil {
		return nil, fmt.Errorf("creating master key: %w", err)
	}
	return &MasterKey{aead: aead}, nil
}

// String hides the key from loggers.
func (MasterKey) String() string { return "seal.MasterKey(REDACTED)" }

// Format hides the key from fmt, whatever the verb.
func (m MasterKey) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

// DataKey seals and opens one citizen's values. It is safe for concurrent
// use. Only keys returned by [NewDataKey] or [MasterKey.Unwrap] are usable.
type DataKey struct {
	key  [KeySize]byte
	aead cipher.AEAD
}

// NewDataKey returns a fresh data key read from rand, or from crypto/rand
// if rand is nil.
func NewDataKey(rand io.Reader) (*DataKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var k [KeySize]byte
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return nil, fmt.Errorf("generating data key: %w", err)
	}
	return newDataKey(k)
}

func newDataKey(k [KeySize]byte) (*DataKey, error) {
	aead, err := newAEAD(k[:])
	if err != nil {
		return nil, fmt.Errorf("creating data key: %w", err)
	}
	return &DataKey{key: k, aead: aead}, nil
}

// String hides the key from loggers.
func (DataKey) String() string { return "seal.DataKey(REDACTED)" }

// Format hides the key from fmt, whatever the verb.
func (dk DataKey) Format(f fmt.State, _ rune) { io.WriteString(f, dk.String()) }

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Wrap encrypts dk under m for the given citizen, in the sealed format.
func (m *MasterKey) Wrap(citizen string, dk *DataKey) ([]byte, error) {
	if citizen == "" {
		return nil, fmt.Errorf("wrapping data key: no citizen: %w", ErrInvalidAD)
	}
	ad := wrapAD(citizen)
	return seal(m.aead, ad, dk.key[:]), nil
}

// Unwrap decrypts a data key wrapped by [MasterKey.Wrap] for citizen. Any
// failure wraps [ErrOpen].
func (m *MasterKey) Unwrap(citizen string, wrapped []byte) (*DataKey, error) {
	if citizen == "" || len(wrapped) != WrappedSize {
		return nil, fmt.Errorf("unwrapping data key: %w", ErrOpen)
	}
	k, err := open(m.aead, wrapAD(citizen), wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrapping data key: %w", err)
	}
	dk, err := newDataKey([KeySize]byte(k))
	clear(k)
	return dk, err
}

// AD is the associated data a value is sealed under: the record it belongs
// to. Version is the record version (the ledger index of its update).
type AD struct {
	Citizen string
	Dataset string
	Field   string
	Version uint64
}

// ItemField is the name item i's field is sealed under in a list dataset:
// "field#i", i in decimal.
func ItemField(field string, item int) string {
	return field + "#" + strconv.Itoa(item)
}

// ItemAD is the associated data of item i's field of a list dataset: the
// field named by [ItemField].
func ItemAD(citizen, dataset, field string, item int, version uint64) AD {
	return AD{Citizen: citizen, Dataset: dataset, Field: ItemField(field, item), Version: version}
}

// encode returns the associated data bytes specified in the package
// documentation.
func (ad AD) encode() ([]byte, error) {
	if ad.Citizen == "" || ad.Dataset == "" || ad.Field == "" {
		return nil, ErrInvalidAD
	}
	n := 4*4 + len(sealLabel) + len(ad.Citizen) + len(ad.Dataset) + len(ad.Field) + 8
	b := make([]byte, 0, n)
	for _, s := range []string{sealLabel, ad.Citizen, ad.Dataset, ad.Field} {
		if len(s) > math.MaxUint32 {
			return nil, ErrInvalidAD
		}
		b = appendLP(b, s)
	}
	return binary.BigEndian.AppendUint64(b, ad.Version), nil
}

func wrapAD(citizen string) []byte {
	b := make([]byte, 0, 8+len(wrapLabel)+len(citizen))
	return appendLP(appendLP(b, wrapLabel), citizen)
}

func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// Seal encrypts plaintext for the record and field named by ad and returns
// it in the sealed format.
func (dk *DataKey) Seal(ad AD, plaintext []byte) ([]byte, error) {
	adb, err := ad.encode()
	if err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return seal(dk.aead, adb, plaintext), nil
}

// Open decrypts a value sealed by [DataKey.Seal] under the same ad. Any
// failure wraps [ErrOpen].
func (dk *DataKey) Open(ad AD, sealed []byte) ([]byte, error) {
	adb, err := ad.encode()
	if err != nil {
		return nil, fmt.Errorf("opening: %w: %w", ErrOpen, err)
	}
	return open(dk.aead, adb, sealed)
}

func seal(aead cipher.AEAD, ad, plaintext []byte) []byte {
	out := make([]byte, 1+nonceSize, Overhead+len(plaintext))
	out[0] = Version
	return sealInto(aead, out, ad, plaintext)
}

// sealInto fills the last nonceSize bytes of out, a header followed by room for the nonce, with a
// random nonce and appends the ciphertext and tag.
func sealInto(aead cipher.AEAD, out, ad, plaintext []byte) []byte {
	nonce := out[len(out)-nonceSize:]
	// crypto/rand.Read never fails (it panics if the system has no source).
	cryptorand.Read(nonce)
	return aead.Seal(out, nonce, plaintext, ad)
}

func open(aead cipher.AEAD, ad, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrOpen, sealed[0])
	}
	dst := make([]byte, 0, len(sealed)-Overhead) // non-nil even when empty
	pt, err := aead.Open(dst, sealed[1:1+nonceSize], sealed[1+nonceSize:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
