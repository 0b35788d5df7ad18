package subject

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// SaltSize is the size in bytes of a subject salt.
const SaltSize = 32

// KeySize is the size in bytes of the index key.
const KeySize = 32

// Domain labels, the first bytes hashed or MACed in each format.
const (
	commitmentLabel = "govhub/subject/v1"
	pseudonymLabel  = "govhub/pseudonym/v1\x00"
	requestLabel    = "govhub/request/v1\x00"
	deptKeyLabel    = "govhub/official-key/v1\x00"
	officialLabel   = "govhub/official/v1\x00"
)

// NewSalt draws a fresh SaltSize-byte salt from r (crypto/rand.Reader in production).
func NewSalt(r io.Reader) ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("drawing a subject salt: %w", err)
	}
	return salt, nil
}

// Commit returns the salted commitment to a citizen that ledger entries carry:
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID), 32 bytes.
func Commit(salt []byte, citizenID string) []byte {
	s := sha256.New()
	s.Write([]byte(commitmentLabel))
	s.Write(salt)
	s.Write([]byte(citizenID))
	return s.Sum(nil)
}

// Pseudonym names a citizen in the private subject index: the first 16 bytes, as 32 lower-case
// hex digits, of HMAC-SHA-256(indexKey, "govhub/pseudonym/v1" ‖ 0x00 ‖ citizenID).
func Pseudonym(indexKey []byte, citizenID string) string {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte(pseudonymLabel))
	m.Write([]byte(citizenID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// RequestDigest is the keyed digest of a request that access and update entries carry:
// HMAC-SHA-256(indexKey, "govhub/request/v1" ‖ 0x00 ‖ request), 32 bytes.
func RequestDigest(indexKey, request []byte) []byte {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte(requestLabel))
	m.Write(request)
	return m.Sum(nil)
}

// DepartmentKey derives a department's resolve key from the hub's officials key:
// HMAC-SHA-256(officialsKey, "govhub/official-key/v1" ‖ 0x00 ‖ department), 32 bytes. A department
// holding its key can name its own officials' pseudonyms and nobody else's.
func DepartmentKey(officialsKey []byte, department string) []byte {
	m := hmac.New(sha256.New, officialsKey)
	m.Write([]byte(deptKeyLabel))
	m.Write([]byte(department))
	return m.Sum(nil)
}

// Official names the individual official behind a request to their own department: 64 lower-case
// hex digits of HMAC-SHA-256(DepartmentKey(officialsKey, department), "govhub/official/v1" ‖ 0x00 ‖
// tokenSubject). Ledger entries carry it on their official line.
func Official(officialsKey []byte, department, tokenSubject string) string {
	m := hmac.New(sha256.New, DepartmentKey(officialsKey, department))
	m.Write([]byte(officialLabel))
	m.Write([]byte(tokenSubject))
	return hex.EncodeToString(m.Sum(nil))
}

// officialDirLabel starts the associated data of a sealed directory entry.
const officialDirLabel = "govhub/official-dir/v1\x00"

// SealOfficial seals tokenSubject for the officials directory under its department's key
// (DepartmentKey): AES-256-GCM with a random 12-byte nonce from r, associated data
// "govhub/official-dir/v1" ‖ 0x00 ‖ pseudonym, output nonce ‖ ciphertext ‖ tag. Only the
// department (or the hub, which derives every department's key) can open it, and a sealed
// subject moved to another pseudonym does not open.
func SealOfficial(r io.Reader, departmentKey []byte, pseudonym, tokenSubject string) ([]byte, error) {
	aead, err := officialAEAD(departmentKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, fmt.Errorf("drawing a nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(tokenSubject), []byte(officialDirLabel+pseudonym)), nil
}

// OpenOfficial opens what SealOfficial sealed for pseudonym, or fails with ErrNotOpened.
func OpenOfficial(departmentKey []byte, pseudonym string, sealed []byte) (string, error) {
	aead, err := officialAEAD(departmentKey)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", ErrNotOpened
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(officialDirLabel+pseudonym))
	if err != nil {
		return "", ErrNotOpened
	}
	return string(plain), nil
}

// ErrNotOpened: a sealed directory entry does not open under the key and pseudonym given (another
// department's key, another pseudonym, or altered bytes).
var ErrNotOpened = errors.New("the official's directory entry does not open with this department's key")

func officialAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("department key has %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
