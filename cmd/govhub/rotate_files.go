package main

// Key rotation without downtime: the credential key and the officials key.
//
// The credential key (keys/credential.key) signs certificates and their status credentials. A
// rotation records the rotation entry on the ledger first, then appends the public half of the
// key being replaced to keys/credential.previous.json, then replaces keys/credential.key; the
// issuer's DID document (/.well-known/did.json, and the copy in every verification document)
// lists the new key first and every earlier one after it, newest first, each its own
// verification method (the DID with the key's Multikey as fragment), so certificates and
// statuses signed before the rotation still verify; everything signed from then on is signed by
// the new key. The earlier keys stay listed: a certificate does not expire with its key. The
// verification page pins the whole list, and is built again when the key rotates.
//
// The officials key (keys/officials.key) keys the officials' pseudonyms on ledger entries. A
// rotation records the rotation entry (its official line still under the old key), then
// appends the old key to keys/officials.previous.json (secret, like the key files: mode 0600),
// then replaces keys/officials.key; new entries name officials under the new key, and `govhub
// official resolve` tries every key the data directory holds, newest first, so entries from
// before the rotation still resolve.
//
// Hubs sharing a database and a copy of the key files read both files again every
// fileKeysRecheck: from then on they sign with the new credential key, list it in their DID
// document, and name officials under the new officials key. The index key files
// (rotate_index.go) are read again with them.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/web"
)

// The files that keep the keys a rotation replaced, beside the key files.
const (
	previousCredentialKeysFile = "credential.previous.json"
	previousOfficialsKeysFile  = "officials.previous.json"
)

// fileKeysRecheck is how often a serving hub reads the credential and officials key files again,
// to follow a rotation made by another instance sharing them.
const fileKeysRecheck = 5 * time.Second

// fileKeyRotation holds what the credential and officials key rotations change in a serving hub.
type fileKeyRotation struct {
	mu sync.Mutex // one credential or officials rotation (or re-read) at a time
	// credential is the credential key and those it replaced (set by openCertificates).
	credential *hub.CredentialKeys
	// pages serve the portal, console and verification pages, one for each handler built
	// (app.newPages), built again when the credential key rotates (they pin the credential keys).
	pages []*pagesHandler
	// seen is what the key files held when last read (followKeyFiles).
	seen string
}

// swappableHandler serves with the handler last stored.
type swappableHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swappableHandler) store(h http.Handler) { s.h.Store(&h) }

func (s *swappableHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// pagesHandler serves the pages of one handler, which build makes again.
type pagesHandler struct {
	swappableHandler
	build func() http.Handler
}

// newPages returns the portal, console and verification pages as the app is configured now (the
// demo flag included), built again by rebuildPages when the credential key rotates.
func (a *app) newPages() http.Handler {
	demo := a.demo
	p := &pagesHandler{build: func() http.Handler {
		c := a.pagesConfig()
		c.Demo = demo
		return web.Handler(c)
	}}
	p.store(p.build())
	a.fileKeys.mu.Lock()
	a.fileKeys.pages = append(a.fileKeys.pages, p)
	a.fileKeys.mu.Unlock()
	return p
}

// rebuildPages builds every handler's pages again (the caller holds f.mu).
func (f *fileKeyRotation) rebuildPages() {
	for _, p := range f.pages {
		p.store(p.build())
	}
}

// previousCredentialKey is a credential key rotated out: its public half, which the DID
// document keeps listing.
type previousCredentialKey struct {
	PublicKeyMultibase string    `json:"publicKeyMultibase"`
	RetiredAt          time.Time `json:"retiredAt"`
}

// readPreviousCredentialKeys reads the credential keys rotated out, newest first.
func readPreviousCredentialKeys(dir string) ([]ed25519.PublicKey, error) {
	var all []previousCredentialKey
	if err := readPreviousFile(dir, previousCredentialKeysFile, &all); err != nil {
		return nil, err
	}
	pubs := make([]ed25519.PublicKey, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		pub, err := credential.ParseMultikey(all[i].PublicKeyMultibase)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", previousCredentialKeysFile, err)
		}
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

// previousOfficialsKey is an officials key rotated out (secret: the file is a key file).
type previousOfficialsKey struct {
	Key       []byte    `json:"key"` // 32 bytes, standard base64 in the file
	RetiredAt time.Time `json:"retiredAt"`
}

// readPreviousOfficialsKeys reads the officials keys rotated out, newest first.
func readPreviousOfficialsKeys(dir string) ([][]byte, error) {
	var all []previousOfficialsKey
	if err := readPreviousFile(dir, previousOfficialsKeysFile, &all); err != nil {
		return nil, err
	}
	ks := make([][]byte, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		if len(all[i].Key) != 32 {
			return nil, fmt.Errorf("%s: key %d is %d bytes, want 32", previousOfficialsKeysFile, i, len(all[i].Key))
		}
		ks = append(ks, all[i].Key)
	}
	return ks, nil
}

// readPreviousFile decodes the JSON list in dir/name into v; no file is an empty list. The file
// must be private to the hub's user (mode 0600), like a key file.
func readPreviousFile(dir, name string, v any) error {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, want 0600", keys.ErrPermissions, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// appendPreviousFile appends item to the JSON list in dir/name (replacing the file atomically).
func appendPreviousFile[T any](dir, name string, item T) error {
	var all []T
	if err := readPreviousFile(dir, name, &all); err != nil {
		return err
	}
	all = append(all, item)
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return keys.Replace(filepath.Join(dir, name), append(b, '\n'))
}

// officialsKeys reads the officials key of a data directory's keys and those it replaced, newest
// first: the keys `govhub official resolve` tries.
func officialsKeys(dir string) ([][]byte, error) {
	cur, err := keys.ReadSymmetric(filepath.Join(dir, "officials.key"))
	if err != nil {
		return nil, err
	}
	prev, err := readPreviousOfficialsKeys(dir)
	if err != nil {
		return nil, err
	}
	return append([][]byte{cur}, prev...), nil
}

// credentialKeysOf reads the credential key of dir and those it replaced, newest first.
func credentialKeysOf(dir string) (ed25519.PrivateKey, []ed25519.PublicKey, error) {
	key, err := keys.ReadEd25519(filepath.Join(dir, "credential.key"))
	if err != nil {
		return nil, nil, err
	}
	prev, err := readPreviousCredentialKeys(dir)
	if err != nil {
		return nil, nil, err
	}
	return key, prev, nil
}

// rotateCredentialKey replaces the credential key: the rotation entry first, then the old public
// key recorded as previous, then the new key file, then the signing key and the DID document
// (together), then the pages that pin them. A crash after the previous file is written leaves the
// old key listed twice, which the DID document lists once.
func (a *app) rotateCredentialKey(ctx context.Context, p auth.Principal) (hub.Rotation, error) {
	f := &a.fileKeys
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.credential == nil {
		return hub.Rotation{}, errors.New("this hub issues no certificates")
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return hub.Rotation{}, err
	}
	id := credential.Multikey(pub)
	index, err := a.rotation.LogRotation(ctx, p, "credential", id)
	if err != nil {
		return hub.Rotation{}, err
	}
	dir := a.cfg.path("keys")
	old := f.credential.Public()
	if err := appendPreviousFile(dir, previousCredentialKeysFile, previousCredentialKey{PublicKeyMultibase: credential.Multikey(old[0]), RetiredAt: time.Now().UTC()}); err != nil {
		return hub.Rotation{}, fmt.Errorf("recording the previous credential key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	pem, err := keys.EncodeEd25519(priv)
	if err != nil {
		return hub.Rotation{}, err
	}
	if err := keys.Replace(filepath.Join(dir, "credential.key"), pem); err != nil {
		return hub.Rotation{}, fmt.Errorf("storing the new credential key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if err := f.credential.Rotate(priv, old...); err != nil {
		return hub.Rotation{}, err
	}
	f.rebuildPages()
	f.seen = fileKeysFingerprint(dir)
	return hub.Rotation{Key: "credential", KeyID: id, Index: index}, nil
}

// officialsKeyID names an officials key on its rotation entry: the hex SHA-256 of
// "govhub/officials-key/v1\n" and the key (the key itself never leaves the key files).
func officialsKeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("govhub/officials-key/v1\n"), key...))
	return hex.EncodeToString(h[:])
}

// rotateOfficialsKey replaces the officials key: the rotation entry first (naming the operator
// under the old key), then the old key recorded as previous, then the new key file, then the key
// new entries are named under.
func (a *app) rotateOfficialsKey(ctx context.Context, p auth.Principal) (hub.Rotation, error) {
	f := &a.fileKeys
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := a.cfg.path("keys")
	old, err := keys.ReadSymmetric(filepath.Join(dir, "officials.key"))
	if err != nil {
		return hub.Rotation{}, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return hub.Rotation{}, err
	}
	id := officialsKeyID(key)
	index, err := a.rotation.LogRotation(ctx, p, "officials", id)
	if err != nil {
		return hub.Rotation{}, err
	}
	if err := appendPreviousFile(dir, previousOfficialsKeysFile, previousOfficialsKey{Key: old, RetiredAt: time.Now().UTC()}); err != nil {
		return hub.Rotation{}, fmt.Errorf("recording the previous officials key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if err := keys.Replace(filepath.Join(dir, "officials.key"), []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
		return hub.Rotation{}, fmt.Errorf("storing the new officials key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if err := a.officials.Rotate(key); err != nil {
		return hub.Rotation{}, err
	}
	f.seen = fileKeysFingerprint(dir)
	return hub.Rotation{Key: "officials", KeyID: id, Index: index}, nil
}

// fileKeysFingerprint is what the credential and officials key files hold now (their contents'
// digest), to notice a rotation by another instance; "" if one cannot be read.
func fileKeysFingerprint(dir string) string {
	h := sha256.New()
	for _, name := range []string{"credential.key", previousCredentialKeysFile, "officials.key", previousOfficialsKeysFile, "index.key", previousIndexKeysFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// followKeyFiles reads the credential and officials key files again every fileKeysRecheck until
// ctx ends, and takes up keys another instance rotated in. A file that cannot be read leaves the
// keys in use as they are (logged): the hub keeps signing with a key its DID document lists.
func (a *app) followKeyFiles(ctx context.Context) {
	dir := a.cfg.path("keys")
	f := &a.fileKeys
	f.mu.Lock()
	f.seen = fileKeysFingerprint(dir)
	f.mu.Unlock()
	t := time.NewTicker(fileKeysRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.reloadKeyFiles(dir); err != nil {
			a.cfg.Logger.WarnContext(ctx, "reading the credential and officials key files again", slog.String("error", err.Error()))
		}
	}
}

// reloadKeyFiles takes up the credential and officials keys of dir if the files changed.
func (a *app) reloadKeyFiles(dir string) error {
	f := &a.fileKeys
	f.mu.Lock()
	defer f.mu.Unlock()
	now := fileKeysFingerprint(dir)
	if now == "" || now == f.seen {
		return nil
	}
	if f.credential != nil {
		key, prev, err := credentialKeysOf(dir)
		if err != nil {
			return err
		}
		cur := f.credential.Public()
		if !key.Public().(ed25519.PublicKey).Equal(cur[0]) || len(prev) != len(cur)-1 {
			// Keep listing every key this instance listed (a file read between the two writes of a
			// rotation, or older files, never drop one).
			for _, k := range cur {
				if !k.Equal(key.Public().(ed25519.PublicKey)) && !slices.ContainsFunc(prev, func(p ed25519.PublicKey) bool { return p.Equal(k) }) {
					prev = append(prev, k)
				}
			}
			if err := f.credential.Rotate(key, prev...); err != nil {
				return err
			}
			f.rebuildPages()
		}
	}
	ok, err := keys.ReadSymmetric(filepath.Join(dir, "officials.key"))
	if err != nil {
		return err
	}
	if err := a.officials.Rotate(ok); err != nil {
		return err
	}
	if a.keys.indexRing != nil {
		if _, err := reloadIndexKeys(dir, a.keys.indexRing); err != nil {
			return err
		}
	}
	f.seen = now
	return nil
}
