package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/crypto/keys"
)

func TestCreateThenLoad(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		load func(path string) ([]byte, bool, error)
	}{
		{"symmetric", keys.Symmetric},
		{"ed25519", func(p string) ([]byte, bool, error) { k, c, err := keys.Ed25519(p); return k, c, err }},
		{"note", func(p string) ([]byte, bool, error) {
			k, c, err := keys.Note(p, "govhub.test/log")
			return []byte(k.VerifierKey), c, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "sub", tc.name+".key")
			k1, created, err := tc.load(path)
			if err != nil || !created {
				t.Fatalf("first load = created %v, %v; want a new key", created, err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
			}
			k2, created, err := tc.load(path)
			if err != nil || created || !bytes.Equal(k1, k2) {
				t.Fatalf("second load = created %v, %v, same %v; want the same key", created, err, bytes.Equal(k1, k2))
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := tc.load(path); !errors.Is(err, keys.ErrPermissions) {
				t.Errorf("load of a 0644 key = %v, want ErrPermissions", err)
			}
		})
	}
}

func TestNoteKeySignsAndVerifies(t *testing.T) {
	k, _, err := keys.Note(filepath.Join(t.TempDir(), "log.key"), "govhub.test/log")
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(k.VerifierKey)
	if err != nil {
		t.Fatalf("note.NewVerifier(%q) = %v", k.VerifierKey, err)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Errorf("note.Open with the published verifier key = %v", err)
	}
}

func TestWriteRefusesToReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if err := keys.Write(path, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := keys.Write(path, []byte("two\n")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Write(existing) = %v, want fs.ErrExist", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Errorf("after a refused Write the file holds %q, %v; want the first key", b, err)
	}
}

// TestConcurrentCreate starts several loaders on one missing key file, as two commands run at once
// on a fresh data directory do: all must return the one key that was installed.
func TestConcurrentCreate(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "master.key")
		const n = 8
		got := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _, errs[i] = keys.Symmetric(path)
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: loader %d: Symmetric = %v", round, i, errs[i])
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("round %d: loaders 0 and %d got different keys", round, i)
			}
		}
		onDisk, _, err := keys.Symmetric(path)
		if err != nil || !bytes.Equal(onDisk, got[0]) {
			t.Fatalf("round %d: the key on disk differs from the one the loaders returned (%v)", round, err)
		}
	}
}

// The Read functions read what the creating ones wrote, and never create a key or its directory.
func TestReadNeverCreates(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent", "keys")
	for _, tc := range []struct {
		name string
		read func(path string) error
	}{
		{"symmetric", func(p string) error { _, err := keys.ReadSymmetric(p); return err }},
		{"ed25519", func(p string) error { _, err := keys.ReadEd25519(p); return err }},
		{"note", func(p string) error { _, err := keys.ReadNote(p); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(missing, tc.name+".key")
			err := tc.read(path)
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
				t.Errorf("read of a missing key = %v, want fs.ErrNotExist naming %s", err, path)
			}
			if _, err := os.Stat(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("reading a missing key created its directory: %v", err)
			}
		})
	}
	sym, _, err := keys.Symmetric(filepath.Join(dir, "s.key"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.ReadSymmetric(filepath.Join(dir, "s.key")); err != nil || !bytes.Equal(got, sym) {
		t.Errorf("ReadSymmetric = %x, %v; want %x", got, err, sym)
	}
	ed, _, err := keys.Ed25519(filepath.Join(dir, "e.key"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.ReadEd25519(filepath.Join(dir, "e.key")); err != nil || !got.Equal(ed) {
		t.Errorf("ReadEd25519 = %v; want the created key", err)
	}
	nk, _, err := keys.Note(filepath.Join(dir, "n.key"), "govhub.test/log")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.ReadNote(filepath.Join(dir, "n.key")); err != nil || got.VerifierKey != nk.VerifierKey {
		t.Errorf("ReadNote = %q, %v; want %q", got.VerifierKey, err, nk.VerifierKey)
	}
	if err := os.Chmod(filepath.Join(dir, "s.key"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ReadSymmetric(filepath.Join(dir, "s.key")); !errors.Is(err, keys.ErrPermissions) {
		t.Errorf("ReadSymmetric of a 0640 key = %v, want ErrPermissions", err)
	}
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "issuer.key")
	first, _, err := keys.Ed25519(path)
	if err != nil {
		t.Fatal(err)
	}
	_, second, _ := ed25519.GenerateKey(nil)
	data, err := keys.EncodeEd25519(second)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Replace(path, data); err != nil {
		t.Fatal(err)
	}
	got, err := keys.ReadEd25519(path)
	if err != nil || !got.Equal(second) || got.Equal(first) {
		t.Fatalf("after Replace: %v, the new key %v", err, got.Equal(second))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left %d files", len(ents))
	}
}
