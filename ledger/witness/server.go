package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// emptyRoot is the RFC 6962 root hash of the empty tree: SHA-256 of the empty string.
var emptyRoot = tlog.Hash{
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}

// Log is a log the witness follows: its origin (the first line of its checkpoints) and the
// verifier of its checkpoint key.
type Log struct {
	Origin   string
	Verifier note.Verifier
}

// Config holds what a witness server needs.
type Config struct {
	// Signer is the witness key: a cosignature/v1 signer, as made by
	// github.com/transparency-dev/formats/note.NewSignerForCosignatureV1 from a note
	// private key. Required.
	Signer note.Signer
	// Logs are the logs the witness follows. Origins must be distinct.
	Logs []Log
	// StateDir holds the durable state: one file per log origin, named by the lowercase hex
	// SHA-256 of the origin with the suffix ".state". Required; created (mode 0700) if
	// missing. Only one Server may use a directory at a time.
	StateDir string
	// Logger receives refusals (they may be evidence of a misbehaving log) and internal
	// errors. Optional; nil discards.
	Logger *slog.Logger
}

// Server is a tlog-witness server. Its ServeHTTP handles add-checkpoint; it is safe for
// concurrent use.
type Server struct {
	signer note.Signer
	mu     sync.RWMutex         // guards logs (AddLogs)
	logs   map[string]*logState // each entry has its own lock
	dir    string
	logger *slog.Logger
}

// logState is the witness's record of one log.
type logState struct {
	origin   string
	verifier note.Verifier
	path     string

	mu         sync.Mutex // held across compare, sign and persist
	size       uint64
	root       tlog.Hash
	checkpoint []byte // latest cosigned checkpoint with the log's and our signatures; nil if none
}

// NewServer checks cfg and loads the state of every log from cfg.StateDir. A state file
// that exists but cannot be read or parsed is an error, never a fresh start: forgetting
// the latest cosigned size would let a log roll history back.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Signer == nil {
		return nil, errors.New("witness: Config.Signer is required")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("witness: Config.StateDir is required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		signer: cfg.Signer,
		logs:   make(map[string]*logState, len(cfg.Logs)),
		dir:    cfg.StateDir,
		logger: logger,
	}
	if err := prepareStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	for i, l := range cfg.Logs {
		for _, o := range cfg.Logs[:i] {
			if o.Origin == l.Origin {
				return nil, fmt.Errorf("witness: log %q configured twice", l.Origin)
			}
		}
	}
	if _, err := s.AddLogs(cfg.Logs...); err != nil {
		return nil, err
	}
	return s, nil
}

// AddLogs makes the witness follow more logs from now on (a log's new origin after a key
// rotation, say), loading any state it kept for them, and returns how many it did not follow
// yet. A log it follows already under the same verifier key is left as it is; under another key,
// or one whose state cannot be read, is an error, and no log is added. Safe to call while the
// server serves.
func (s *Server) AddLogs(logs ...Log) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var add []*logState
	for _, l := range logs {
		if l.Origin == "" || strings.ContainsAny(l.Origin, "\n") {
			return 0, fmt.Errorf("witness: invalid log origin %q", l.Origin)
		}
		if l.Verifier == nil {
			return 0, fmt.Errorf("witness: log %q has no verifier", l.Origin)
		}
		if st, ok := s.logs[l.Origin]; ok {
			if st.verifier.KeyHash() != l.Verifier.KeyHash() || st.verifier.Name() != l.Verifier.Name() {
				return 0, fmt.Errorf("witness: log %q is followed under another key already", l.Origin)
			}
			continue
		}
		if slices.ContainsFunc(add, func(st *logState) bool { return st.origin == l.Origin }) {
			continue
		}
		st := &logState{origin: l.Origin, verifier: l.Verifier, path: statePath(s.dir, l.Origin)}
		if err := st.load(); err != nil {
			return 0, err
		}
		add = append(add, st)
	}
	for _, st := range add {
		s.logs[st.origin] = st
	}
	return len(add), nil
}

// log returns the state of the log with origin, or nil.
func (s *Server) log(origin string) *logState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.logs[origin]
}

// Latest returns the latest checkpoint the witness cosigned for origin (with the log's
// verified signatures and the witness's cosignature) and its size. ok reports whether the
// witness has cosigned a checkpoint for origin.
func (s *Server) Latest(origin string) (size uint64, checkpoint []byte, ok bool) {
	st := s.log(origin)
	if st == nil {
		return 0, nil, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.checkpoint == nil {
		return 0, nil, false
	}
	return st.size, bytes.Clone(st.checkpoint), true
}

// refusal is an answer other than 200, with the reason given to the client and the log.
type refusal struct {
	status int
	reason string
	size   uint64 // for 409: the latest cosigned size, which is the answer's body
}

// ServeHTTP handles POST /add-checkpoint. Mount it under the witness's submission prefix
// with http.StripPrefix, e.g. mux.Handle("/witness/", http.StripPrefix("/witness", s)) for
// the prefix https://host/witness.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != addCheckpointPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.refuse(w, r, refusal{status: http.StatusRequestEntityTooLarge, reason: "request body too large"}, nil)
			return
		}
		s.refuse(w, r, refusal{status: http.StatusBadRequest, reason: "reading request body: " + err.Error()}, nil)
		return
	}
	cosig, ref, attrs := s.addCheckpoint(r.Context(), body)
	if ref != nil {
		s.refuse(w, r, *ref, attrs)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(cosig)))
	w.WriteHeader(http.StatusOK)
	w.Write(cosig)
}

// addCheckpoint runs the checks of tlog-witness add-checkpoint in the specification's
// order and, if all pass, cosigns and persists. It returns the cosignature line, or the
// refusal and the attributes to log it with.
func (s *Server) addCheckpoint(ctx context.Context, body []byte) ([]byte, *refusal, []slog.Attr) {
	req, err := parseRequest(body)
	if err != nil {
		return nil, &refusal{status: http.StatusBadRequest, reason: "malformed request: " + err.Error()}, nil
	}
	// Parse the note's structure without trusting it, to find the origin.
	var unverified *note.UnverifiedNoteError
	if _, err := note.Open(req.Checkpoint, note.VerifierList()); !errors.As(err, &unverified) {
		return nil, &refusal{status: http.StatusBadRequest, reason: "malformed checkpoint note"}, nil
	}
	text := unverified.Note.Text
	cp, err := parseCheckpointText(text)
	if err != nil {
		return nil, &refusal{status: http.StatusBadRequest, reason: "malformed checkpoint: " + err.Error()}, nil
	}
	attrs := []slog.Attr{
		slog.String("origin", truncate(cp.Origin)),
		slog.Uint64("old_size", req.OldSize),
		slog.Uint64("size", cp.Size),
	}
	st := s.log(cp.Origin)
	if st == nil {
		return nil, &refusal{status: http.StatusNotFound, reason: "unknown log origin"}, attrs
	}
	// Signatures by other keys are ignored; one by the log's key must be present and valid.
	n, err := note.Open(req.Checkpoint, note.VerifierList(st.verifier))
	if err != nil {
		reason := "no signature by the log's key"
		var invalid *note.InvalidSignatureError
		if errors.As(err, &invalid) {
			reason = "invalid signature by the log's key"
		}
		return nil, &refusal{status: http.StatusForbidden, reason: reason}, attrs
	}
	if req.OldSize > cp.Size {
		return nil, &refusal{status: http.StatusBadRequest, reason: "old size is larger than the checkpoint size"}, attrs
	}
	if cp.Size > math.MaxInt64 {
		return nil, &refusal{status: http.StatusBadRequest, reason: "checkpoint size out of range"}, attrs
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	attrs = append(attrs, slog.Uint64("witnessed_size", st.size))
	if req.OldSize != st.size {
		return nil, &refusal{status: http.StatusConflict, reason: "old size is not the latest cosigned size", size: st.size}, attrs
	}
	if ref := st.checkConsistency(req, cp); ref != nil {
		// Signed by the log yet inconsistent: keep the evidence.
		attrs = append(attrs,
			slog.String("root", cp.Root.String()),
			slog.String("witnessed_root", st.root.String()),
			slog.String("checkpoint", string(req.Checkpoint)))
		return nil, ref, attrs
	}

	// Cosign, keeping only the signatures we verified, and persist before answering.
	signed, err := note.Sign(&note.Note{Text: text, Sigs: n.Sigs}, s.signer)
	if err != nil {
		return nil, &refusal{status: http.StatusInternalServerError, reason: "cosigning: " + err.Error()}, attrs
	}
	cosig := lastLine(signed)
	if err := st.store(signed); err != nil {
		return nil, &refusal{status: http.StatusInternalServerError, reason: "persisting state: " + err.Error()}, attrs
	}
	st.size, st.root, st.checkpoint = cp.Size, cp.Root, signed
	s.logger.LogAttrs(ctx, slog.LevelDebug, "witness: checkpoint cosigned", attrs...)
	return cosig, nil, nil
}

// checkConsistency checks cp, submitted with req's old size and proof, against the latest
// cosigned checkpoint. The caller holds st.mu and has checked req.OldSize == st.size.
func (st *logState) checkConsistency(req request, cp checkpoint) *refusal {
	switch {
	case cp.Size == 0 && cp.Root != emptyRoot:
		return &refusal{status: http.StatusUnprocessableEntity, reason: "size-0 checkpoint without the empty tree's root hash"}
	case req.OldSize == 0 && len(req.Proof) > 0:
		return &refusal{status: http.StatusUnprocessableEntity, reason: "consistency proof sent with old size 0"}
	case req.OldSize == 0:
		return nil // the empty tree is a prefix of every tree
	case req.OldSize == cp.Size && cp.Root != st.root:
		return &refusal{status: http.StatusUnprocessableEntity, reason: "split view: same size as the cosigned checkpoint, different root hash"}
	}
	if err := tlog.CheckTree(req.Proof, int64(cp.Size), cp.Root, int64(req.OldSize), st.root); err != nil {
		return &refusal{status: http.StatusUnprocessableEntity, reason: "consistency proof does not verify: checkpoint does not extend the cosigned tree"}
	}
	return nil
}

// refuse answers with ref and logs it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ref refusal, attrs []slog.Attr) {
	level := slog.LevelInfo
	switch ref.status {
	case http.StatusUnprocessableEntity:
		level = slog.LevelWarn
	case http.StatusInternalServerError:
		level = slog.LevelError
	}
	attrs = append(attrs, slog.Int("status", ref.status), slog.String("reason", ref.reason))
	s.logger.LogAttrs(r.Context(), level, "witness: add-checkpoint refused", attrs...)

	if ref.status == http.StatusConflict {
		w.Header().Set("Content-Type", sizeContentType)
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, strconv.FormatUint(ref.size, 10)+"\n")
		return
	}
	if ref.status == http.StatusInternalServerError {
		http.Error(w, "internal error", ref.status) // details are in the log only
		return
	}
	http.Error(w, ref.reason, ref.status)
}

// lastLine returns the last "\n"-terminated line of b, which ends in "\n".
func lastLine(b []byte) []byte {
	i := bytes.LastIndexByte(b[:len(b)-1], '\n')
	return bytes.Clone(b[i+1:])
}
