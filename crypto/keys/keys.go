// Package keys reads and creates the hub's key files.
//
// Symmetric, Ed25519 and Note create a missing key (a hub's first start); ReadSymmetric, ReadEd25519
// and ReadNote only read, and report a missing file with an error wrapping fs.ErrNotExist, creating
// neither the file nor its directory (commands that use a hub's keys without being the hub).
//
// Every key file is created with mode 0600, written to a temporary file, synced and renamed into
// place, so a crash never leaves half a key. A key file that group or others may read is refused
// (as ssh refuses such identity files): fix its mode, or rotate the key if it leaked.
//
// Formats (one key a file):
//
//	Symmetric   32 random bytes, standard base64, one line ("kq3G…=\n")
//	Ed25519     PKCS #8 PEM ("-----BEGIN PRIVATE KEY-----…")
//	Note        a golang.org/x/mod/sumdb/note private key, one line ("PRIVATE+KEY+name+hash+key\n")
package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// ErrPermissions reports a key file that others than its owner may read.
var ErrPermissions = errors.New("key file is readable by others")

// loadOrCreate returns the contents of path, creating it from gen() when it does not exist.
func loadOrCreate(path string, gen func() ([]byte, error)) ([]byte, bool, error) {
	data, err := read(path)
	if err == nil {
		return data, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	data, err = gen()
	if err != nil {
		return nil, false, fmt.Errorf("generating %s: %w", path, err)
	}
	if err := Write(path, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process (say `govhub token` beside a first `govhub serve`) created it
			// meanwhile: use theirs.
			data, err := read(path)
			return data, false, err
		}
		return nil, false, err
	}
	return data, true, nil
}

func read(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, want 0600", ErrPermissions, path, fi.Mode().Perm())
	}
	return os.ReadFile(path)
}

// Write stores data as a new key file at path (mode 0600, parent directory 0700), atomically. It
// refuses to replace an existing file, with an error wrapping fs.ErrExist.
func Write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating key directory: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("key file %s: %w", path, fs.ErrExist)
	}
	return install(path, data, os.Link) // a link fails if path appeared meanwhile
}

// Replace stores data as the key file at path in place of the one there (mode 0600), atomically:
// a reader sees the old file or the new one, never a part (a key rotation).
func Replace(path string, data []byte) error {
	return install(path, data, os.Rename)
}

// install writes data to a temporary file beside path (mode 0600), syncs it, puts it at path with
// put (os.Link: only where nothing is; os.Rename: in place of what is), and syncs the directory.
func install(path string, data []byte, put func(oldpath, newpath string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-key-*")
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := put(tmp, path); err != nil {
		return fmt.Errorf("installing key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// EncodeEd25519 returns the key file form of an Ed25519 private key (PKCS #8 PEM).
func EncodeEd25519(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Symmetric returns the 32-byte key in path, creating a random one if the file does not exist.
func Symmetric(path string) (key []byte, created bool, err error) {
	data, created, err := loadOrCreate(path, func() ([]byte, error) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(k) + "\n"), nil
	})
	if err != nil {
		return nil, false, err
	}
	key, err = parseSymmetric(path, data)
	return key, created, err
}

// ReadSymmetric returns the 32-byte key in path, which must exist.
func ReadSymmetric(path string) ([]byte, error) {
	data, err := readExisting(path)
	if err != nil {
		return nil, err
	}
	return parseSymmetric(path, data)
}

func parseSymmetric(path string, data []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: not a base64 32-byte key", path)
	}
	return key, nil
}

// readExisting reads the key file at path without creating anything.
func readExisting(path string) ([]byte, error) {
	data, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no key file %s: %w", path, fs.ErrNotExist)
	}
	return data, err
}

// Ed25519 returns the Ed25519 key in path, creating one if the file does not exist.
func Ed25519(path string) (key ed25519.PrivateKey, created bool, err error) {
	data, created, err := loadOrCreate(path, func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	})
	if err != nil {
		return nil, false, err
	}
	key, err = parseEd25519(path, data)
	return key, created, err
}

// ReadEd25519 returns the Ed25519 key in path, which must exist.
func ReadEd25519(path string) (ed25519.PrivateKey, error) {
	data, err := readExisting(path)
	if err != nil {
		return nil, err
	}
	return parseEd25519(path, data)
}

func parseEd25519(path string, data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return priv, nil
}

// NoteKey is a note signing key with its verifier.
type NoteKey struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the verifier key in note format ("name+hash+key"), the text to publish.
	VerifierKey string
}

// NewNoteKey generates a note signing key named name and returns the private key text.
func NewNoteKey(name string) (private []byte, err error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("generating note key %q: %w", name, err)
	}
	return []byte(skey + "\n"), nil
}

// Note returns the note key in path, creating one named name if the file does not exist. An
// existing key keeps its own name.
func Note(path, name string) (NoteKey, bool, error) {
	data, created, err := loadOrCreate(path, func() ([]byte, error) { return NewNoteKey(name) })
	if err != nil {
		return NoteKey{}, false, err
	}
	k, err := ParseNote(data)
	if err != nil {
		return NoteKey{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, created, nil
}

// ReadNote returns the note key in path, which must exist.
func ReadNote(path string) (NoteKey, error) {
	data, err := readExisting(path)
	if err != nil {
		return NoteKey{}, err
	}
	k, err := ParseNote(data)
	if err != nil {
		return NoteKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseNote decodes a note private key text.
func ParseNote(data []byte) (NoteKey, error) {
	skey := string(bytes.TrimSpace(data))
	s, v, err := fnote.NewEd25519SignerVerifier(skey)
	if err != nil {
		return NoteKey{}, fmt.Errorf("not a note private key: %w", err)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return NoteKey{}, err
	}
	return NoteKey{Signer: s, Verifier: v, VerifierKey: vkey}, nil
}

// verifierKey derives "name+hash+base64(0x01‖pub)" from "PRIVATE+KEY+name+hash+base64(0x01‖seed)".
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("malformed note private key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("malformed note private key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}
