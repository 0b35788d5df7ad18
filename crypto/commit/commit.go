package commit

import (
	cryptorand "crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Scheme names the commitment scheme and its encodings; it is stored and
// shown next to every commitment.
const Scheme = "pedersen-bls12381-g1/v1"

const (
	generatorHMessage = "govhub/commit/v1/H"
	generatorHDST     = "GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
)

var (
	// ErrMismatch means a commitment does not open to the given message and
	// blinding.
	ErrMismatch = errors.New("commit: commitment does not match the opening")

	// ErrInvalid means an encoding or a value was rejected: a malformed
	// commitment or blinding, a string that is not UTF-8, a date that does
	// not exist. Errors wrapping it never repeat the rejected value, which
	// may be personal data.
	ErrInvalid = errors.New("commit: invalid input")
)

// Commitment is a commitment in its canonical 48-byte form, the compressed
// encoding of a point of G1 (see the package documentation).
type Commitment [48]byte

// String returns the commitment as 96 lowercase hexadecimal digits.
func (c Commitment) String() string {
	return hex.EncodeToString(c[:])
}

// MarshalText implements [encoding.TextMarshaler] with the form of
// [Commitment.String].
func (c Commitment) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the checks of
// [ParseCommitment].
func (c *Commitment) UnmarshalText(text []byte) error {
	p, err := ParseCommitment(string(text))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// ParseCommitment parses the 96 hexadecimal digits of a commitment (either
// case; [Commitment.String] prints lowercase). It rejects anything but the
// canonical compressed encoding of a point of the prime-order subgroup of
// G1 other than the point at infinity.
func ParseCommitment(s string) (Commitment, error) {
	if len(s) != 2*len(Commitment{}) {
		return Commitment{}, fmt.Errorf("parsing commitment: %d hex digits, want %d: %w", len(s), 2*len(Commitment{}), ErrInvalid)
	}
	var b [len(Commitment{})]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return Commitment{}, fmt.Errorf("parsing commitment: not hexadecimal: %w", ErrInvalid)
	}
	return ParseCommitmentBytes(b[:])
}

// ParseCommitmentBytes is like [ParseCommitment] for the 48-byte binary
// form.
func ParseCommitmentBytes(b []byte) (Commitment, error) {
	var c Commitment
	if len(b) != len(c) {
		return Commitment{}, fmt.Errorf("parsing commitment: %d bytes, want %d: %w", len(b), len(c), ErrInvalid)
	}
	copy(c[:], b)
	if c[0]&0x80 == 0 {
		return Commitment{}, fmt.Errorf("parsing commitment: not in compressed form: %w", ErrInvalid)
	}
	if c[0]&0x40 != 0 {
		return Commitment{}, fmt.Errorf("parsing commitment: point at infinity: %w", ErrInvalid)
	}
	var p bls12381.G1Affine
	// SetBytes checks that x is canonical (< p), that the point is on the
	// curve and that it is in the prime-order subgroup.
	if _, err := p.SetBytes(c[:]); err != nil {
		return Commitment{}, fmt.Errorf("parsing commitment: not a point of G1: %w", ErrInvalid)
	}
	// Belt and braces: exactly one encoding per point.
	if p.Bytes() != c {
		return Commitment{}, fmt.Errorf("parsing commitment: non-canonical encoding: %w", ErrInvalid)
	}
	return c, nil
}

// CommitmentFromAuthenticated returns b as a commitment after checking its length and its
// compressed-form flags only, not that it encodes a point of G1 (a square root and a subgroup
// check, about 45 µs, which ParseCommitmentBytes does). It is for bytes the caller has
// authenticated as a commitment this hub computed and checked before storing it: a stored record's
// commitment whose record MAC the read has just checked (the MAC covers the commitment), or one
// the hub has just computed itself (an update's new commitments, answered to the update). It also
// serves before Verify, which compares the bytes with the commitment it computes from the opening.
// Bytes of any other origin go through ParseCommitmentBytes.
func CommitmentFromAuthenticated(b []byte) (Commitment, error) {
	var c Commitment
	if len(b) != len(c) {
		return Commitment{}, fmt.Errorf("parsing commitment: %d bytes, want %d: %w", len(b), len(c), ErrInvalid)
	}
	copy(c[:], b)
	if c[0]&0x80 == 0 || c[0]&0x40 != 0 {
		return Commitment{}, fmt.Errorf("parsing commitment: not a compressed point other than infinity: %w", ErrInvalid)
	}
	return c, nil
}

// Blinding is the random blinding factor r of a commitment: a scalar
// 0 < r < q in 32 big-endian bytes. It opens the commitment, so it is as
// secret as the value: store it sealed next to the value, never log it.
type Blinding [32]byte

// String hides the blinding from loggers; use r[:] for its bytes.
func (r Blinding) String() string { return "commit.Blinding(REDACTED)" }

// Format hides the blinding from fmt, whatever the verb (%x included).
func (r Blinding) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// maxBlindingAttempts bounds rejection sampling in [NewBlinding]. With a
// good source, one attempt fails with probability below 0.1, so 64 failures
// in a row mean a broken source.
const maxBlindingAttempts = 64

// NewBlinding returns a uniformly random blinding read from rand, or from
// crypto/rand if rand is nil. It samples by rejection: 32 bytes at a time,
// the top bit cleared, until the value is in [1, q).
func NewBlinding(rand io.Reader) (Blinding, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var r Blinding
	for range maxBlindingAttempts {
		if _, err := io.ReadFull(rand, r[:]); err != nil {
			return Blinding{}, fmt.Errorf("generating blinding: %w", err)
		}
		r[0] &= 0x7f // q < 2²⁵⁵
		if _, err := scalarOf(r); err == nil {
			return r, nil
		}
	}
	return Blinding{}, errors.New("generating blinding: random source returned no value in range")
}

// ParseBlinding parses a 32-byte big-endian blinding, rejecting zero and
// values not below q (non-canonical encodings).
func ParseBlinding(b []byte) (Blinding, error) {
	var r Blinding
	if len(b) != len(r) {
		return Blinding{}, fmt.Errorf("parsing blinding: %d bytes, want %d: %w", len(b), len(r), ErrInvalid)
	}
	copy(r[:], b)
	if _, err := scalarOf(r); err != nil {
		return Blinding{}, fmt.Errorf("parsing blinding: %w", err)
	}
	return r, nil
}

// scalarOf returns r as a field element if 0 < r < q.
func scalarOf(r Blinding) (fr.Element, error) {
	var s fr.Element
	if err := s.SetBytesCanonical(r[:]); err != nil {
		return fr.Element{}, fmt.Errorf("not below the group order: %w", ErrInvalid)
	}
	if s.IsZero() {
		return fr.Element{}, fmt.Errorf("zero: %w", ErrInvalid)
	}
	return s, nil
}

// Commit returns the commitment m·G + r·H.
//
// r must be a valid blinding, as returned by [NewBlinding] or
// [ParseBlinding]; Commit panics on zero or on a value not below q, which
// would give a commitment that does not hide m. Commit is safe for
// concurrent use; the first call builds the generator tables (768 KiB, about
// 12 ms: see the package documentation).
func Commit(m Message, r Blinding) Commitment {
	rs, err := scalarOf(r)
	if err != nil {
		panic("commit.Commit: invalid blinding: " + err.Error())
	}
	return commit(&m.s, &rs)
}

func commit(v, r *fr.Element) Commitment {
	gens := fixedGenerators()
	acc := infinity()
	gens.gTable.mulAdd(&acc, v)
	gens.hTable.mulAdd(&acc, r)
	var p bls12381.G1Affine
	p.FromJacobian(&acc)
	return p.Bytes()
}

// Verify checks that c opens to m with blinding r. It returns an error
// wrapping [ErrInvalid] if r is not a valid blinding, and [ErrMismatch] if c
// is not the commitment to m with r.
func Verify(c Commitment, m Message, r Blinding) error {
	rs, err := scalarOf(r)
	if err != nil {
		return fmt.Errorf("verifying commitment: blinding: %w", err)
	}
	want := commit(&m.s, &rs)
	if subtle.ConstantTimeCompare(c[:], want[:]) != 1 {
		return ErrMismatch
	}
	return nil
}
