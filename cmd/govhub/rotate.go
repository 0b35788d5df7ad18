package main

// Key rotation without downtime: the master sealing key and the token issuer key (here), the
// credential key and the officials key (rotate_files.go).
//
// The master keys live in the data directory's keys/: master.key is the first, and each rotation
// adds master-2.key, master-3.key, … (never replacing a file); the highest number is current.
// A serving hub rotates through its operator API, POST /admin/keys/rotate, which `govhub keys
// rotate` calls: the rotation entry goes on the ledger first, the new key file is written, the
// hub wraps every new data key under it, and the existing data keys are wrapped again in the
// background (progress in the log, GET /admin/keys and govhub_keys_rewrap_* metrics). When the
// re-wrap has finished the hub writes keys/master.rewrapped with the current key's id, so that a
// restart does not scan again; a restart before that resumes it. Hubs sharing a database and a
// copy of the key files learn of a new key when they first meet a data key wrapped under it: the
// ring reads the key files again (at most once a second).
//
// The token issuer key (keys/issuer.key) is replaced in place, after its public half is recorded
// in keys/issuer.previous.json with the time until which tokens it signed are still accepted (the
// longest token lifetime, plus the clock leeway): /.well-known/jwks.json lists the current key and
// those, and the hub accepts tokens of both during the overlap. Hubs sharing the key files read
// them again when a token names a key they do not hold.

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/hub"
)

const (
	rotatePath   = "/admin/keys/rotate"
	keysPath     = "/admin/keys"
	rewrapMarker = "master.rewrapped"
)

var masterFileRE = regexp.MustCompile(`^master-([1-9][0-9]*)\.key$`)

// masterRing is the hub's ring of master keys, read from its key directory, which reads the
// directory again when it meets a wrap under a key it does not hold.
type masterRing struct {
	*seal.Ring
	dir string

	mu         sync.Mutex
	lastReload time.Time
}

// masterKeyFiles lists the master key files of dir in order: master.key, then master-N.key by N.
func masterKeyFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type numbered struct {
		n    int
		name string
	}
	var ns []numbered
	for _, e := range ents {
		if m := masterFileRE.FindStringSubmatch(e.Name()); m != nil {
			n, err := strconv.Atoi(m[1])
			if err == nil && n >= 2 {
				ns = append(ns, numbered{n, e.Name()})
			}
		}
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].n < ns[j].n })
	files := []string{"master.key"}
	for _, n := range ns {
		files = append(files, n.name)
	}
	return files, nil
}

// loadMasterRing reads the master keys of dir (creating master.key on a first start).
func loadMasterRing(dir string) (*masterRing, error) {
	first, _, err := keys.Symmetric(filepath.Join(dir, "master.key"))
	if err != nil {
		return nil, err
	}
	r, err := seal.NewRing(first)
	if err != nil {
		return nil, err
	}
	m := &masterRing{Ring: r, dir: dir}
	return m, m.readMore()
}

// readMore adds the key files after master.key, the last one current.
func (m *masterRing) readMore() error {
	files, err := masterKeyFiles(m.dir)
	if err != nil {
		return err
	}
	for _, f := range files[1:] {
		k, err := keys.ReadSymmetric(filepath.Join(m.dir, f))
		if err != nil {
			return err
		}
		if err := m.Ring.Rotate(k); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// Unwrap unwraps with the ring, reading the key files again when the wrap names a key the ring
// does not hold (another instance rotated).
func (m *masterRing) Unwrap(citizen string, wrapped []byte) (*seal.DataKey, error) {
	dk, err := m.Ring.Unwrap(citizen, wrapped)
	if !errors.Is(err, seal.ErrUnknownKey) {
		return dk, err
	}
	m.mu.Lock()
	if time.Since(m.lastReload) > time.Second {
		m.lastReload = time.Now()
		if rerr := m.readMore(); rerr != nil {
			m.mu.Unlock()
			return nil, fmt.Errorf("%w (reading the master key files again: %v)", err, rerr)
		}
	}
	m.mu.Unlock()
	return m.Ring.Unwrap(citizen, wrapped)
}

// persist writes key as the next master key file, master-N.key.
func (m *masterRing) persist(key []byte) error {
	files, err := masterKeyFiles(m.dir)
	if err != nil {
		return err
	}
	n := len(files) + 1
	if last := files[len(files)-1]; last != "master.key" {
		v, _ := strconv.Atoi(masterFileRE.FindStringSubmatch(last)[1])
		n = v + 1
	}
	return keys.Write(filepath.Join(m.dir, fmt.Sprintf("master-%d.key", n)), []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
}

// rewrapState is the background re-wrap's progress, for /admin/keys and /metrics.
type rewrapState struct {
	mu       sync.Mutex
	running  bool
	progress hub.RewrapProgress
	err      string
	finished time.Time
}

func (s *rewrapState) snapshot() (running bool, p hub.RewrapProgress, errText string, finished time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.progress, s.err, s.finished
}

// rewrapInBackground wraps every data key again under the current master key, unless it runs
// already, or a finished re-wrap left the marker naming the current key.
func (a *app) rewrapInBackground(ctx context.Context, force bool) {
	cur := a.keys.master.Current()
	marker := a.cfg.path("keys", rewrapMarker)
	if !force {
		if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == cur {
			return
		}
		files, err := masterKeyFiles(a.cfg.path("keys"))
		if err == nil && len(files) == 1 {
			return // never rotated: every key is under master.key
		}
	}
	s := &a.rewrap
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running, s.progress, s.err = true, hub.RewrapProgress{}, ""
	s.mu.Unlock()
	go func() {
		start := time.Now()
		a.cfg.Logger.InfoContext(ctx, "re-wrapping the data keys under the current master key", slog.String("key", cur))
		p, err := a.rotation.Rewrap(ctx, func(p hub.RewrapProgress) {
			s.mu.Lock()
			s.progress = p
			s.mu.Unlock()
		})
		s.mu.Lock()
		s.running, s.progress, s.finished = false, p, time.Now()
		if err != nil {
			s.err = err.Error()
		}
		s.mu.Unlock()
		if err != nil {
			a.cfg.Logger.ErrorContext(ctx, "re-wrapping the data keys stopped; it resumes at the next start", slog.String("error", err.Error()))
			return
		}
		if a.keys.master.Current() == cur {
			if werr := os.WriteFile(marker, []byte(cur+"\n"), 0o600); werr != nil {
				a.cfg.Logger.WarnContext(ctx, "writing the re-wrap marker", slog.String("error", werr.Error()))
			}
		}
		a.cfg.Logger.InfoContext(ctx, "data keys re-wrapped", slog.Int("keys", p.Seen), slog.Int("rewrapped", p.Rewrapped),
			slog.Int("changed_meanwhile", p.Gone), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	}()
}

// keysStatus is GET /admin/keys: the master key in use and the re-wrap's progress.
type keysStatus struct {
	Master      string             `json:"master"`      // the current master key's id
	MasterFiles []string           `json:"masterFiles"` // the master key files, the last current
	Rewrapping  bool               `json:"rewrapping"`
	Rewrap      hub.RewrapProgress `json:"rewrap"`
	RewrapError string             `json:"rewrapError,omitempty"`
	// CredentialKeys are the credential keys (Multikeys) the DID document lists, the current first.
	CredentialKeys []string `json:"credentialKeys,omitempty"`
	// Officials names the current officials key (officialsKeyID, as its rotation entry does).
	Officials string `json:"officials,omitempty"`
	// Index names the current index key (subject.KeyID); IndexKeys is how many the ring holds
	// (the current one and those it replaced). Remacing and Remac are the background re-MAC of
	// the records under the current index key (rotate_index.go).
	Index      string            `json:"index,omitempty"`
	IndexKeys  int               `json:"indexKeys,omitempty"`
	Remacing   bool              `json:"remacing"`
	Remac      hub.RemacProgress `json:"remac"`
	RemacError string            `json:"remacError,omitempty"`
	// Pseudonym names the index key citizens are named under, FormerPseudonyms how many keys they
	// were named under before whose data is still moving; Rekeying and Rekey are that move
	// (rekey.go).
	Pseudonym        string                `json:"pseudonym,omitempty"`
	FormerPseudonyms int                   `json:"formerPseudonyms,omitempty"`
	Rekeying         bool                  `json:"rekeying"`
	Rekey            hub.PseudonymProgress `json:"rekey"`
	RekeyError       string                `json:"rekeyError,omitempty"`
	Rotation         *hub.Rotation         `json:"rotation,omitempty"` // POST /admin/keys/rotate: what it did
}

func (a *app) keysStatus() keysStatus {
	running, p, errText, _ := a.rewrap.snapshot()
	files, _ := masterKeyFiles(a.cfg.path("keys"))
	st := keysStatus{Master: a.keys.master.Current(), MasterFiles: files, Rewrapping: running, Rewrap: p, RewrapError: errText}
	if a.fileKeys.credential != nil {
		for _, k := range a.fileKeys.credential.Public() {
			st.CredentialKeys = append(st.CredentialKeys, credential.Multikey(k))
		}
	}
	if k, err := keys.ReadSymmetric(a.cfg.path("keys", "officials.key")); err == nil {
		st.Officials = officialsKeyID(k)
	}
	if r := a.keys.indexRing; r != nil {
		st.Index, st.IndexKeys = subject.KeyID(r.Current()), len(r.Keys())
		pk, former := r.PseudonymKeys()
		st.Pseudonym, st.FormerPseudonyms = subject.KeyID(pk), len(former)
	}
	st.Rekeying, st.Rekey, st.RekeyError = a.rekey.snapshot()
	st.Remacing, st.Remac, st.RemacError = a.indexRotation.snapshot()
	return st
}

// keysHandler serves GET /admin/keys and POST /admin/keys/rotate (operators only).
func (a *app) keysHandler(life context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+keysPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSONResponse(w, http.StatusOK, a.keysStatus())
	})
	mux.HandleFunc("POST "+rotatePath, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Key     string `json:"key"`
			Prepare bool   `json:"prepare"` // the log key: only make the next key (logkeys.go)
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			http.Error(w, "want a JSON body {\"key\": \"master\"}", http.StatusBadRequest)
			return
		}
		p, _ := auth.FromContext(r.Context())
		var rot hub.Rotation
		var err error
		switch req.Key {
		case "master":
			rot, err = a.rotation.RotateMaster(r.Context(), p)
		case "token":
			rot, err = a.rotateTokenKey(r.Context(), p)
		case "credential":
			rot, err = a.rotateCredentialKey(r.Context(), p)
		case "officials":
			rot, err = a.rotateOfficialsKey(r.Context(), p)
		case "index":
			rot, err = a.rotateIndexKey(r.Context(), p)
		case "log":
			rot, err = a.rotateLogKey(r.Context(), p, req.Prepare)
		default:
			http.Error(w, fmt.Sprintf("cannot rotate %q: the choices are master, token, credential, officials, index and log", req.Key), http.StatusBadRequest)
			return
		}
		if err != nil {
			a.cfg.Logger.ErrorContext(r.Context(), "rotating a key", slog.String("key", req.Key), slog.String("error", err.Error()))
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		a.cfg.Logger.InfoContext(r.Context(), "key rotated", slog.String("key", req.Key), slog.String("id", rot.KeyID), slog.Uint64("entry", rot.Index))
		switch req.Key {
		case "master":
			a.rewrapInBackground(life, true)
		case "index":
			a.remacInBackground(life, true)
		}
		st := a.keysStatus()
		st.Rotation = &rot
		writeJSONResponse(w, http.StatusOK, st)
	})
	return auth.Middleware(a.verifier, onlyKind(auth.KindOperator, mux))
}

func writeJSONResponse(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

const keysRotateUsage = `usage: govhub keys rotate [--key master|token|credential|officials|index|log] [--prepare] [--wait] [--data-dir DIR] [--hub URL] [--token T]

Rotates a key of the running hub without stopping it; the rotation goes on the ledger first.

  master  the master sealing key: the new key file keys/master-N.key is written beside the
          others, every new data key is wrapped under it, and the existing ones are wrapped
          again in the background (--wait follows the re-wrap until it is done).
  token   the token issuer key: keys/issuer.key is replaced; tokens signed by the old key are
          accepted until they expire, and /.well-known/jwks.json lists both keys meanwhile.
  credential
          the key that signs certificates: keys/credential.key is replaced and the old public
          key kept in keys/credential.previous.json; /.well-known/did.json lists every key, the
          new one first, so certificates issued before still verify; new ones are signed by
          the new key.
  officials
          the key of the officials' pseudonyms on entries: keys/officials.key is replaced and
          the old key kept in keys/officials.previous.json; new entries use the new key, and
          govhub official resolve tries every key, newest first.
  index   the index key (record MACs, request digests, cursors, erasure digests): keys/index.key
          is replaced and the old key kept in keys/index.previous.json; everything new is keyed
          by the new key, everything earlier still checks under its own, and the records are
          MAC'd again under the new key in the background. Citizens' pseudonyms (which name
          their access logs, questions and applications in the store) move to the new key:
          each citizen's on first use, all of them in the background, then once more after
          15 s for what other instances wrote before they learnt of the key; afterwards
          nothing in the store is named under the old key (--wait follows both).
  log     the ledger's note key, rotated as a new log origin in the same tree: the rotation
          entry ends the old origin's log in a final checkpoint (witnessed), the new key signs
          from the next entry on, a link entry naming that checkpoint's root, under the origin
          "<origin>/N" (keys/log-N.key); keys/log.history.json and GET /log-keys hold the key
          history, which verifiers check from the first key. Appends wait (none fails) for
          about one integration round. With witnesses, run --prepare first and add the
          printed key to each of them (mirrors follow the history by themselves).

Back up the new key file (govhub keys split) once it exists.

The token must be an operator's (default: one minted with the data directory's issuer key).

`

func cmdKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keysRotateUsage)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", defaultDataDir, "the hub's data directory (to find the hub and its issuer key)")
	key := fs.String("key", "master", "the key to rotate: master, token, credential, officials, index or log")
	prepare := fs.Bool("prepare", false, "log key only: make the next log key and print its verifier key, to add to the witnesses before rotating")
	wait := fs.Bool("wait", false, "wait until every data key is wrapped (master) or every record MAC'd (index) under the new key, printing progress")
	var af adminFlags
	af.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *key {
	case "master", "token", "credential", "officials", "index", "log":
	default:
		return &exitError{2, fmt.Errorf("--key %q: the choices: master, token, credential, officials, index, log", *key)}
	}
	if *prepare && *key != "log" {
		return &exitError{2, errors.New("--prepare is for --key log")}
	}
	c, err := af.client(*dataDir, mintToken(*dataDir, auth.Principal{Kind: auth.KindOperator, Subject: cliSubject()}))
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"key": *key, "prepare": *prepare})
	var st keysStatus
	if err := c.do(ctx, http.MethodPost, rotatePath, body, &st); err != nil {
		return err
	}
	switch {
	case st.Rotation != nil && *key == "log" && *prepare:
		fmt.Fprintf(stdout, "next log key made (not yet in use): %s\nAdd it to every witness (govhub witness --log-key, beside the current one), then run govhub keys rotate --key log; mirrors learn it from the key history.\n", st.Rotation.KeyID)
		return nil
	case st.Rotation != nil && *key == "log":
		fmt.Fprintf(stdout, "log key rotated: new key %s, signing from entry %d on (the rotation entry %d ends the old origin's log, the link entry %d begins the new one); the key history is at GET /log-keys and in keys/%s\n",
			st.Rotation.KeyID, st.Rotation.Start, st.Rotation.Index, st.Rotation.Start, logHistoryFile)
		fmt.Fprintln(stdout, "Back up the new key files now (govhub keys split). Verifiers keep the first key (govhub ledger pubkey) and read the history.")
		return nil
	case st.Rotation != nil && *key == "credential":
		fmt.Fprintf(stdout, "credential key rotated: new key %s (ledger entry %d), file keys/credential.key; the DID document lists it first, then the earlier keys, whose certificates still verify\n", st.Rotation.KeyID, st.Rotation.Index)
		fmt.Fprintln(stdout, "Back up the new key file now (govhub keys split).")
		return nil
	case st.Rotation != nil && *key == "officials":
		fmt.Fprintf(stdout, "officials key rotated: new key %s (ledger entry %d), file keys/officials.key; earlier keys are in keys/%s and still resolve\n", st.Rotation.KeyID, st.Rotation.Index, previousOfficialsKeysFile)
		fmt.Fprintln(stdout, "Back up the new key files now (govhub keys split).")
		return nil
	case st.Rotation != nil && *key == "index":
		fmt.Fprintf(stdout, "index key rotated: new key %s (ledger entry %d), file keys/index.key; earlier keys are in keys/%s and still check what they keyed\n", short(st.Rotation.KeyID), st.Rotation.Index, previousIndexKeysFile)
		fmt.Fprintln(stdout, "Back up the new key files now (govhub keys split).")
		return waitRemac(ctx, c, st, *wait, stdout, stderr)
	case st.Rotation != nil && *key == "token":
		fmt.Fprintf(stdout, "token issuer key rotated: new kid %s (ledger entry %d), file keys/issuer.key; tokens of the old key are accepted until they expire\n", st.Rotation.KeyID, st.Rotation.Index)
		fmt.Fprintln(stdout, "Back up the new key file now (govhub keys split).")
		return nil
	case st.Rotation != nil:
		fmt.Fprintf(stdout, "master key rotated: new key %s (ledger entry %d), file keys/%s\n", st.Rotation.KeyID, st.Rotation.Index, st.MasterFiles[len(st.MasterFiles)-1])
	}
	fmt.Fprintln(stdout, "Back up the new key file now (govhub keys split): data keys wrapped under it open with nothing else.")
	for *wait {
		if !st.Rewrapping {
			if st.RewrapError != "" {
				return fmt.Errorf("re-wrapping stopped: %s", st.RewrapError)
			}
			fmt.Fprintf(stdout, "re-wrapped: %d data keys wrapped again, %d already under the new key, %d changed meanwhile\n",
				st.Rewrap.Rewrapped, st.Rewrap.Current, st.Rewrap.Gone)
			return nil
		}
		fmt.Fprintf(stderr, "re-wrapping: %d of %d data keys read…\n", st.Rewrap.Rewrapped+st.Rewrap.Current+st.Rewrap.Gone, st.Rewrap.Seen)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if err := c.do(ctx, http.MethodGet, keysPath, nil, &st); err != nil {
			return err
		}
	}
	return nil
}

// previousKeyFiles are the files of keys a rotation replaced that a split carries when they exist:
// a restored hub still lists the earlier credential keys, resolves officials under the earlier
// officials keys, accepts tokens of an earlier issuer key until they expire, and checks and
// finds what earlier index keys keyed (its citizens' pseudonyms among them).
var previousKeyFiles = []string{previousCredentialKeysFile, previousOfficialsKeysFile, previousTokenKeysFile, previousIndexKeysFile}

// keyFilesOf lists the key files a split carries: the fixed ones, every rotated master key, and
// the previous-keys files that exist.
func keyFilesOf(dataDir string) ([]string, error) {
	masters, err := masterKeyFiles(filepath.Join(dataDir, "keys"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return keyFiles, nil
		}
		return nil, err
	}
	files := append(append([]string{}, keyFiles...), masters[1:]...)
	// The rotated log keys and their history (logkeys.go), a prepared next key among them.
	for n := 2; ; n++ {
		if _, err := os.Stat(filepath.Join(dataDir, "keys", logKeyFile(n))); err != nil {
			break
		}
		files = append(files, logKeyFile(n))
	}
	for _, name := range append([]string{logHistoryFile}, previousKeyFiles...) {
		if _, err := os.Stat(filepath.Join(dataDir, "keys", name)); err == nil {
			files = append(files, name)
		}
	}
	return files, nil
}

// previousTokenKeysFile lists the token issuer keys rotated out whose tokens are still accepted.
const previousTokenKeysFile = "issuer.previous.json"

// previousTokenKey is a token issuer key rotated out: its public half, and until when tokens it
// signed are accepted.
type previousTokenKey struct {
	KID         string    `json:"kid"`
	PublicKey   []byte    `json:"publicKey"` // 32 bytes, standard base64 in the file
	RetiredAt   time.Time `json:"retiredAt"`
	AcceptUntil time.Time `json:"acceptUntil"`
}

// readPreviousTokenKeys reads the token keys rotated out that are still accepted at now.
func readPreviousTokenKeys(dir string, now time.Time) ([]previousTokenKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, previousTokenKeysFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all, live []previousTokenKey
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s: %w", previousTokenKeysFile, err)
	}
	for _, k := range all {
		if len(k.PublicKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: key %s is %d bytes", previousTokenKeysFile, k.KID, len(k.PublicKey))
		}
		if now.Before(k.AcceptUntil) {
			live = append(live, k)
		}
	}
	return live, nil
}

// tokenKeys reads the token issuer's current public key and those rotated out but still
// accepted, from the key files (how an instance learns of a rotation made by another).
func tokenKeys(dir string) (ed25519.PublicKey, []ed25519.PublicKey, error) {
	priv, err := keys.ReadEd25519(filepath.Join(dir, "issuer.key"))
	if err != nil {
		return nil, nil, err
	}
	prev, err := readPreviousTokenKeys(dir, time.Now())
	if err != nil {
		return nil, nil, err
	}
	pubs := make([]ed25519.PublicKey, len(prev))
	for i, k := range prev {
		pubs[i] = k.PublicKey
	}
	return priv.Public().(ed25519.PublicKey), pubs, nil
}

// rotateTokenKey replaces the token issuer key: the rotation entry first, then the old public
// key recorded as still accepted, then the new key file, then the issuer and the verifier.
func (a *app) rotateTokenKey(ctx context.Context, p auth.Principal) (hub.Rotation, error) {
	a.tokenRotation.Lock()
	defer a.tokenRotation.Unlock()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return hub.Rotation{}, err
	}
	kid := auth.KeyID(pub)
	index, err := a.rotation.LogRotation(ctx, p, "token", kid)
	if err != nil {
		return hub.Rotation{}, err
	}
	dir := a.cfg.path("keys")
	now := time.Now()
	prev, err := readPreviousTokenKeys(dir, now)
	if err != nil {
		return hub.Rotation{}, err
	}
	maxTTL := a.cfg.MaxTokenTTL
	if maxTTL == 0 {
		maxTTL = auth.DefaultMaxLifetime
	}
	old := a.issuer.Public()
	prev = append(prev, previousTokenKey{KID: auth.KeyID(old), PublicKey: old, RetiredAt: now.UTC(),
		AcceptUntil: now.Add(maxTTL + auth.DefaultLeeway).UTC()})
	b, err := json.MarshalIndent(prev, "", "  ")
	if err != nil {
		return hub.Rotation{}, err
	}
	if err := keys.Replace(filepath.Join(dir, previousTokenKeysFile), append(b, '\n')); err != nil {
		return hub.Rotation{}, err
	}
	pem, err := keys.EncodeEd25519(priv)
	if err != nil {
		return hub.Rotation{}, err
	}
	if err := keys.Replace(filepath.Join(dir, "issuer.key"), pem); err != nil {
		return hub.Rotation{}, fmt.Errorf("storing the new token issuer key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	pubs := make([]ed25519.PublicKey, len(prev))
	for i, k := range prev {
		pubs[i] = k.PublicKey
	}
	if err := a.ownVerifier.Rotate(pub, pubs...); err != nil {
		return hub.Rotation{}, err
	}
	if err := a.issuer.Rotate(priv); err != nil {
		return hub.Rotation{}, err
	}
	return hub.Rotation{Key: "token", KeyID: kid, Index: index}, nil
}

// jwks serves /.well-known/jwks.json: the token issuer's keys, the current one first.
func (a *app) jwks(w http.ResponseWriter, r *http.Request) {
	cur, prev, err := tokenKeys(a.cfg.path("keys"))
	if err != nil {
		http.Error(w, "reading the token keys", http.StatusInternalServerError)
		return
	}
	b, err := auth.JWKS(append([]ed25519.PublicKey{cur}, prev...)...)
	if err != nil {
		http.Error(w, "encoding the token keys", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=60")
	w.Write(b)
}

// waitRemac follows the background re-MAC after an index key rotation until it is done (if wait).
func waitRemac(ctx context.Context, c *hubClient, st keysStatus, wait bool, stdout, stderr io.Writer) error {
	for wait {
		if !st.Remacing {
			if st.RemacError != "" {
				return fmt.Errorf("MACing the records again stopped: %s", st.RemacError)
			}
			if st.Remac.Refused > 0 {
				return fmt.Errorf("%d heads or records match under no index key: they were left as they are, and reads refuse them", st.Remac.Refused)
			}
			if !st.Rekeying {
				if st.RekeyError != "" {
					return fmt.Errorf("moving the citizens' access logs to their new pseudonyms stopped: %s", st.RekeyError)
				}
				fmt.Fprintf(stdout, "re-MAC'd: %d heads and records MAC'd again, %d already under the new key, %d changed meanwhile, %d refused (altered)\n",
					st.Remac.Remaced, st.Remac.Current, st.Remac.Gone, st.Remac.Refused)
				fmt.Fprintf(stdout, "pseudonyms: every citizen is named under key %s; %d former keys still moving\n", short(st.Pseudonym), st.FormerPseudonyms)
				return nil
			}
		}
		switch {
		case st.Remacing:
			fmt.Fprintf(stderr, "re-MACing: %d heads and records done…\n", st.Remac.Seen)
		case st.Rekey.Final:
			fmt.Fprintf(stderr, "moving access logs to the new pseudonyms, final round: %d citizens done…\n", st.Rekey.Citizens)
		default:
			fmt.Fprintf(stderr, "moving access logs to the new pseudonyms: %d citizens done…\n", st.Rekey.Citizens)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		st = keysStatus{} // omitted (empty) fields must not keep the last poll's values
		if err := c.do(ctx, http.MethodGet, keysPath, nil, &st); err != nil {
			return err
		}
	}
	return nil
}
