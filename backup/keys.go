// Package backup keeps a hub recoverable when its data directory is lost: its keys, split among
// privacy officers so that any k of n of them can restore them and fewer learn nothing, and an
// encrypted export of its store for the embedded default (on MongoDB, the database's own backups
// serve).
//
// # Keys
//
// SplitKeys takes the key files of a data directory (keys/master.key, index.key, log.key,
// issuer.key, officials.key, … by file name) and returns a key bundle and one share per officer:
//
//   - The bundle is the key files encrypted under a fresh 32-byte bundle key with AES-256-GCM:
//
//     "govhub-keys/v1\n" ‖ base64(nonce(12) ‖ ciphertext ‖ tag) ‖ "\n"
//
//     where the plaintext is the JSON object {"files": {"<name>": "<base64 of the file>", …}} and
//     the additional data is the first line. The bundle can be kept anywhere (with the backups):
//     without the bundle key it says nothing but the number of bytes.
//
//   - The bundle key is split with Shamir's secret sharing over GF(2^8) (OpenBao's
//     sdk/v2/helper/shamir, the scheme Vault and OpenBao unseal with): n shares, any threshold k of
//     which give back the key; fewer give no information about it. Each share is written as the
//     JSON object
//
//     {"format": "govhub-key-share/v1", "officer": "<name>", "threshold": k, "shares": n,
//     "bundle": "<SHA-256 of the bundle, hex>", "share": "<base64 of the share>"}
//
//     and encrypted to that officer's age X25519 recipient (filippo.io/age, armored), so that only
//     the officer can read it. The bundle digest ties a share to its bundle: shares of another
//     split are refused, not silently combined into a wrong key.
//
// RestoreKeys combines k opened shares and decrypts the bundle; a wrong or missing share fails the
// bundle's authentication (with fewer than k shares the combined key is wrong), so a restore either
// returns exactly the files that were split or fails.
//
// # Records
//
// Writer and Reader are the export format of a store (package comment of export.go).
package backup

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/openbao/openbao/sdk/v2/helper/shamir"
)

const (
	bundleMagic = "govhub-keys/v1\n"
	shareFormat = "govhub-key-share/v1"
	// MaxShares is the most officers a split can have (Shamir over GF(2^8)).
	MaxShares = 255
)

// Officer is one holder of a share: a name (for the share file and the restore's messages) and
// the age recipient the share is encrypted to ("age1…").
type Officer struct {
	Name      string
	Recipient string
}

// Share is one officer's opened share.
type Share struct {
	Format    string `json:"format"`
	Officer   string `json:"officer"`
	Threshold int    `json:"threshold"`
	Shares    int    `json:"shares"`
	Bundle    string `json:"bundle"`
	Secret    []byte `json:"share"`
}

// SplitKeys encrypts files into a bundle and splits its key among officers, any threshold of whom
// can restore it. It returns the bundle and each officer's encrypted share, by officer name.
func SplitKeys(files map[string][]byte, officers []Officer, threshold int, rnd io.Reader) ([]byte, map[string][]byte, error) {
	if len(files) == 0 {
		return nil, nil, errors.New("backup: no key files to split")
	}
	n := len(officers)
	switch {
	case n < 2 || n > MaxShares:
		return nil, nil, fmt.Errorf("backup: %d officers; a split needs 2 to %d", n, MaxShares)
	case threshold < 2 || threshold > n:
		return nil, nil, fmt.Errorf("backup: threshold %d with %d officers; it must be 2 to %d", threshold, n, n)
	}
	recipients := make([]age.Recipient, n)
	seen := map[string]bool{}
	for i, o := range officers {
		if o.Name == "" || strings.ContainsAny(o.Name, "/\\ \t\n") || seen[o.Name] {
			return nil, nil, fmt.Errorf("backup: officer name %q is empty, repeated, or holds a space or slash", o.Name)
		}
		seen[o.Name] = true
		r, err := age.ParseX25519Recipient(o.Recipient)
		if err != nil {
			return nil, nil, fmt.Errorf("backup: officer %s: %w", o.Name, err)
		}
		recipients[i] = r
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, nil, err
	}
	bundle, err := sealBundle(key, files, rnd)
	if err != nil {
		return nil, nil, err
	}
	parts, err := shamir.Split(key, n, threshold)
	if err != nil {
		return nil, nil, fmt.Errorf("backup: splitting the bundle key: %w", err)
	}
	digest := sha256.Sum256(bundle)
	out := make(map[string][]byte, n)
	for i, o := range officers {
		b, err := json.Marshal(Share{Format: shareFormat, Officer: o.Name, Threshold: threshold, Shares: n,
			Bundle: hex.EncodeToString(digest[:]), Secret: parts[i]})
		if err != nil {
			return nil, nil, err
		}
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, recipients[i])
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, nil, err
		}
		if err := w.Close(); err != nil {
			return nil, nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, nil, err
		}
		out[o.Name] = buf.Bytes()
	}
	return bundle, out, nil
}

// OpenShare decrypts an officer's share file with their age identity.
func OpenShare(file []byte, identity age.Identity) (Share, error) {
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(file)), identity)
	if err != nil {
		return Share{}, fmt.Errorf("backup: opening the share: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return Share{}, fmt.Errorf("backup: opening the share: %w", err)
	}
	var s Share
	if err := json.Unmarshal(b, &s); err != nil || s.Format != shareFormat {
		return Share{}, errors.New("backup: the file is not a GovHub key share")
	}
	return s, nil
}

// RestoreKeys combines opened shares (at least their threshold, all of this bundle) and returns the
// key files of the bundle.
func RestoreKeys(bundle []byte, shares []Share) (map[string][]byte, error) {
	if len(shares) == 0 {
		return nil, errors.New("backup: no shares given")
	}
	digest := sha256.Sum256(bundle)
	want := hex.EncodeToString(digest[:])
	threshold := shares[0].Threshold
	parts := make([][]byte, 0, len(shares))
	seen := map[string]bool{}
	for _, s := range shares {
		if s.Bundle != want {
			return nil, fmt.Errorf("backup: the share of %s belongs to another key bundle", s.Officer)
		}
		if seen[string(s.Secret)] {
			return nil, fmt.Errorf("backup: the share of %s is given twice", s.Officer)
		}
		seen[string(s.Secret)] = true
		parts = append(parts, s.Secret)
	}
	if len(parts) < threshold {
		return nil, fmt.Errorf("backup: %d shares given; this bundle needs %d of its %d officers", len(parts), threshold, shares[0].Shares)
	}
	key, err := shamir.Combine(parts)
	if err != nil {
		return nil, fmt.Errorf("backup: combining the shares: %w", err)
	}
	return openBundle(key, bundle)
}

type bundleBody struct {
	Files map[string][]byte `json:"files"`
}

func sealBundle(key []byte, files map[string][]byte, rnd io.Reader) ([]byte, error) {
	plain, err := json.Marshal(bundleBody{Files: files})
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(bundleMagic))
	return []byte(bundleMagic + base64.StdEncoding.EncodeToString(sealed) + "\n"), nil
}

func openBundle(key, bundle []byte) (map[string][]byte, error) {
	body, ok := bytes.CutPrefix(bundle, []byte(bundleMagic))
	if !ok {
		return nil, errors.New("backup: not a GovHub key bundle")
	}
	sealed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(body)))
	if err != nil {
		return nil, errors.New("backup: the key bundle is damaged")
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("backup: the key bundle is damaged")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(bundleMagic))
	if err != nil {
		return nil, errors.New("backup: the shares do not open the key bundle (a share is wrong, missing, or of another split, or the bundle was changed)")
	}
	var b bundleBody
	if err := json.Unmarshal(plain, &b); err != nil {
		return nil, fmt.Errorf("backup: the key bundle's contents: %w", err)
	}
	return b.Files, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Random is the source SplitKeys is normally given.
var Random io.Reader = rand.Reader
