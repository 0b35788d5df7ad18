package witness_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func TestAddCheckpointHappyPath(t *testing.T) {
	f := newFixture(t, 20)
	wv := cosigVerifier(t, f.vkey)
	for _, step := range []struct{ old, size int64 }{{0, 5}, {5, 13}, {13, 13}, {13, 20}} {
		t.Run(fmt.Sprintf("%d→%d", step.old, step.size), func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			cp := f.log.checkpoint(t, step.size)
			cosig, err := f.client.AddCheckpoint(t.Context(), uint64(step.old), f.log.tree.proof(t, step.old, step.size), cp)
			if err != nil {
				t.Fatalf("AddCheckpoint(%d → %d) = %v", step.old, step.size, err)
			}
			if !bytes.HasPrefix(cosig, []byte("— "+witnessName+" ")) || bytes.Count(cosig, []byte("\n")) != 1 {
				t.Fatalf("AddCheckpoint() = %q, want one cosignature line by %s", cosig, witnessName)
			}
			n, err := note.Open(append(bytes.Clone(cp), cosig...), note.VerifierList(f.log.verifier, wv))
			if err != nil {
				t.Fatalf("note.Open(checkpoint + cosignature) = %v", err)
			}
			if len(n.Sigs) != 2 || n.Sigs[1].Name != witnessName || n.Sigs[1].Hash != wv.KeyHash() {
				t.Fatalf("note.Open(checkpoint + cosignature).Sigs = %+v, want the log's and the witness's", n.Sigs)
			}
			ts, err := fnote.CoSigV1Timestamp(n.Sigs[1])
			if err != nil {
				t.Fatalf("CoSigV1Timestamp() = %v", err)
			}
			if ts.Before(before) || ts.After(time.Now()) {
				t.Errorf("CoSigV1Timestamp() = %v, want between %v and now", ts, before)
			}

			size, latest, ok := f.server.Latest(logName)
			if !ok || size != uint64(step.size) {
				t.Fatalf("Latest() = %d, %v, want %d, true", size, ok, step.size)
			}
			if !bytes.HasPrefix(latest, cp) || !bytes.HasSuffix(latest, cosig) {
				t.Errorf("Latest() checkpoint = %q, want %q followed by %q", latest, cp, cosig)
			}
		})
	}
	if !strings.Contains(f.logs.String(), "checkpoint cosigned") {
		t.Errorf("debug log = %q, want successes logged", f.logs.String())
	}
}

func TestAddCheckpointEmptyTree(t *testing.T) {
	f := newFixture(t, 4)
	cosig, err := f.client.AddCheckpoint(t.Context(), 0, nil, f.log.checkpoint(t, 0))
	if err != nil {
		t.Fatalf("AddCheckpoint(size 0) = %v", err)
	}
	if len(cosig) == 0 {
		t.Fatalf("AddCheckpoint(size 0) = empty cosignature")
	}
	if size, _, ok := f.server.Latest(logName); !ok || size != 0 {
		t.Fatalf("Latest() = %d, %v, want 0, true", size, ok)
	}
	f.advance(t, 4)
}

// TestAddCheckpointRefusals drives every refusal through raw HTTP and, where a well-formed
// request can express it, through the Client.
func TestAddCheckpointRefusals(t *testing.T) {
	other := newTree(t, 12, func(i int) string { // agrees with the log on leaves 0-2 only
		if i >= 3 {
			return fmt.Sprintf("rewritten leaf %d", i)
		}
		return plainLeaf(i)
	})
	impostor, _ := newLogKey(t, logName) // same name, different key
	unknown, _ := newLogKey(t, "example.gov/unknown-log")

	type req struct {
		old   uint64
		proof [][32]byte
		cp    []byte
	}
	tests := []struct {
		name     string
		setup    int64                 // size the witness cosigned first (-1: nothing)
		req      func(*fixture) req    // a well-formed request, or nil
		raw      func(*fixture) []byte // a raw body, when req is nil
		status   int                   // want HTTP status
		reply    string                // want substring of the reply body
		wantErr  error                 // want client error (errors.Is), or nil for a *ConflictError
		conflict uint64                // want ConflictError.Size when wantErr is nil
	}{
		{
			name:  "unknown origin",
			setup: 5,
			req: func(f *fixture) req {
				return req{5, f.log.tree.proof(t, 5, 8), signCheckpoint(t, unknown, unknown.Name(), 8, f.log.tree.root(t, 8))}
			},
			status: http.StatusNotFound, reply: "unknown log origin", wantErr: witness.ErrUnknownLog,
		},
		{
			name:  "signed by another key with the log's name",
			setup: 5,
			req: func(f *fixture) req {
				return req{5, f.log.tree.proof(t, 5, 8), signCheckpoint(t, impostor, logName, 8, f.log.tree.root(t, 8))}
			},
			status: http.StatusForbidden, reply: "no signature by the log's key", wantErr: witness.ErrBadSignature,
		},
		{
			name:  "trusted key's signature does not verify",
			setup: 5,
			req: func(f *fixture) req {
				cp := f.log.checkpoint(t, 8)
				return req{5, f.log.tree.proof(t, 5, 8), corruptSignature(t, cp)}
			},
			status: http.StatusForbidden, reply: "invalid signature", wantErr: witness.ErrBadSignature,
		},
		{
			name:  "text changed after signing",
			setup: 5,
			req: func(f *fixture) req {
				cp := f.log.checkpoint(t, 8)
				return req{5, f.log.tree.proof(t, 5, 8), bytes.Replace(cp, []byte("\n8\n"), []byte("\n9\n"), 1)}
			},
			status: http.StatusForbidden, reply: "invalid signature", wantErr: witness.ErrBadSignature,
		},
		{
			name:   "old size larger than checkpoint size",
			setup:  5,
			req:    func(f *fixture) req { return req{5, nil, f.log.checkpoint(t, 3)} },
			status: http.StatusBadRequest, reply: "old size is larger", wantErr: witness.ErrBadRequest,
		},
		{
			name:   "old size zero after the witness moved on",
			setup:  5,
			req:    func(f *fixture) req { return req{0, nil, f.log.checkpoint(t, 8)} },
			status: http.StatusConflict, reply: "5\n", conflict: 5,
		},
		{
			name:   "old size behind the witness",
			setup:  5,
			req:    func(f *fixture) req { return req{3, f.log.tree.proof(t, 3, 8), f.log.checkpoint(t, 8)} },
			status: http.StatusConflict, reply: "5\n", conflict: 5,
		},
		{
			name:   "old size ahead of the witness",
			setup:  5,
			req:    func(f *fixture) req { return req{7, f.log.tree.proof(t, 7, 8), f.log.checkpoint(t, 8)} },
			status: http.StatusConflict, reply: "5\n", conflict: 5,
		},
		{
			name:  "size 0 without the empty root",
			setup: -1,
			req: func(f *fixture) req {
				return req{0, nil, signCheckpoint(t, f.log.signer, logName, 0, f.log.tree.root(t, 1))}
			},
			status: http.StatusUnprocessableEntity, reply: "empty tree", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "proof with old size 0",
			setup: -1,
			req: func(f *fixture) req {
				return req{0, f.log.tree.proof(t, 5, 8), f.log.checkpoint(t, 8)}
			},
			status: http.StatusUnprocessableEntity, reply: "old size 0", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "proof does not verify",
			setup: 5,
			req: func(f *fixture) req {
				p := f.log.tree.proof(t, 5, 8)
				p[0][0] ^= 1
				return req{5, p, f.log.checkpoint(t, 8)}
			},
			status: http.StatusUnprocessableEntity, reply: "does not verify", wantErr: witness.ErrInconsistent,
		},
		{
			name:   "proof missing",
			setup:  5,
			req:    func(f *fixture) req { return req{5, nil, f.log.checkpoint(t, 8)} },
			status: http.StatusUnprocessableEntity, reply: "does not verify", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "proof given for an unchanged size",
			setup: 5,
			req: func(f *fixture) req {
				return req{5, f.log.tree.proof(t, 4, 5), f.log.checkpoint(t, 5)}
			},
			status: http.StatusUnprocessableEntity, reply: "does not verify", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "split view: same size, different root",
			setup: 5,
			req: func(f *fixture) req {
				return req{5, nil, signCheckpoint(t, f.log.signer, logName, 5, other.root(t, 5))}
			},
			status: http.StatusUnprocessableEntity, reply: "split view", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "rewritten history: larger tree that does not extend the cosigned one",
			setup: 5,
			req: func(f *fixture) req {
				return req{5, other.proof(t, 5, 12), signCheckpoint(t, f.log.signer, logName, 12, other.root(t, 12))}
			},
			status: http.StatusUnprocessableEntity, reply: "does not verify", wantErr: witness.ErrInconsistent,
		},
		{
			name:  "64 proof lines",
			setup: 5,
			raw: func(f *fixture) []byte {
				return body(5, make([][32]byte, 64), f.log.checkpoint(t, 8))
			},
			status: http.StatusBadRequest, reply: "more than 63",
		},
		{
			name:  "old size with a leading zero",
			setup: 5,
			raw: func(f *fixture) []byte {
				return append([]byte("old 05"), body(5, f.log.tree.proof(t, 5, 8), f.log.checkpoint(t, 8))[5:]...)
			},
			status: http.StatusBadRequest, reply: "canonical",
		},
		{
			name:   "old size with a sign",
			setup:  -1,
			raw:    func(f *fixture) []byte { return append([]byte("old +0\n\n"), f.log.checkpoint(t, 8)...) },
			status: http.StatusBadRequest, reply: "canonical",
		},
		{
			name:   "no old line",
			setup:  -1,
			raw:    func(f *fixture) []byte { return append([]byte("\n"), f.log.checkpoint(t, 8)...) },
			status: http.StatusBadRequest, reply: "old",
		},
		{
			name:   "CRLF line endings",
			setup:  -1,
			raw:    func(f *fixture) []byte { return append([]byte("old 0\r\n\r\n"), f.log.checkpoint(t, 8)...) },
			status: http.StatusBadRequest, reply: "malformed request",
		},
		{
			name:  "proof line not base64",
			setup: 5,
			raw: func(f *fixture) []byte {
				return append([]byte("old 5\n!!!!\n\n"), f.log.checkpoint(t, 8)...)
			},
			status: http.StatusBadRequest, reply: "base64",
		},
		{
			name:  "proof line with non-zero padding bits",
			setup: 5,
			raw: func(f *fixture) []byte {
				line := base64.StdEncoding.EncodeToString(make([]byte, 32))
				line = line[:42] + "B="
				return append([]byte("old 5\n"+line+"\n\n"), f.log.checkpoint(t, 8)...)
			},
			status: http.StatusBadRequest, reply: "base64",
		},
		{
			name:   "no blank line",
			setup:  -1,
			raw:    func(f *fixture) []byte { return []byte("old 0\n") },
			status: http.StatusBadRequest, reply: "empty line",
		},
		{
			name:   "no checkpoint",
			setup:  -1,
			raw:    func(f *fixture) []byte { return []byte("old 0\n\n") },
			status: http.StatusBadRequest, reply: "no checkpoint",
		},
		{
			name:   "checkpoint not a signed note",
			setup:  -1,
			raw:    func(f *fixture) []byte { return []byte("old 0\n\n" + logName + "\n8\n") },
			status: http.StatusBadRequest, reply: "malformed checkpoint note",
		},
		{
			name:  "checkpoint size with a leading zero, signed by the log",
			setup: -1,
			raw: func(f *fixture) []byte {
				root := f.log.tree.root(t, 8)
				return body(0, nil, signText(t, f.log.signer, logName+"\n08\n"+base64.StdEncoding.EncodeToString(root[:])+"\n"))
			},
			status: http.StatusBadRequest, reply: "not canonical",
		},
		{
			name:  "checkpoint root of the wrong length, signed by the log",
			setup: -1,
			raw: func(f *fixture) []byte {
				return body(0, nil, signText(t, f.log.signer, logName+"\n8\nAAAA\n"))
			},
			status: http.StatusBadRequest, reply: "root hash has 3 bytes",
		},
		{
			name:  "checkpoint with an empty extension line",
			setup: -1,
			raw: func(f *fixture) []byte {
				root := f.log.tree.root(t, 8)
				return body(0, nil, signText(t, f.log.signer, logName+"\n8\n"+base64.StdEncoding.EncodeToString(root[:])+"\n\next\n"))
			},
			status: http.StatusBadRequest, reply: "empty extension line",
		},
		{
			name:  "body too large",
			setup: -1,
			raw: func(f *fixture) []byte {
				return append([]byte("old 0\n"), bytes.Repeat([]byte("A"), witness.MaxBodySize)...)
			},
			status: http.StatusRequestEntityTooLarge, reply: "too large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 12)
			if tt.setup >= 0 {
				f.advance(t, tt.setup)
			}
			wantSize, wantCP, wantOK := f.server.Latest(logName)
			checkUnchanged := func(t *testing.T) {
				t.Helper()
				size, cp, ok := f.server.Latest(logName)
				if size != wantSize || ok != wantOK || !bytes.Equal(cp, wantCP) {
					t.Errorf("after refusal Latest() = %d, %v, want %d, %v (unchanged)", size, ok, wantSize, wantOK)
				}
			}

			var raw []byte
			if tt.req != nil {
				r := tt.req(f)
				raw = body(r.old, r.proof, r.cp)

				cosig, err := f.client.AddCheckpoint(t.Context(), r.old, r.proof, r.cp)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("AddCheckpoint() = %q, %v, want %v", cosig, err, tt.wantErr)
					}
				} else {
					var conflict *witness.ConflictError
					if !errors.As(err, &conflict) || conflict.Size != tt.conflict {
						t.Errorf("AddCheckpoint() = %q, %v, want *ConflictError{Size: %d}", cosig, err, tt.conflict)
					}
				}
				checkUnchanged(t)
			} else {
				raw = tt.raw(f)
			}

			status, ctype, reply := f.post(t, raw)
			if status != tt.status || !strings.Contains(reply, tt.reply) {
				t.Errorf("POST add-checkpoint = %d %q, want %d containing %q", status, reply, tt.status, tt.reply)
			}
			if tt.status == http.StatusConflict {
				if want := fmt.Sprint(tt.conflict) + "\n"; reply != want || ctype != "text/x.tlog.size" {
					t.Errorf("409 reply = %q (%s), want %q (text/x.tlog.size)", reply, ctype, want)
				}
			}
			checkUnchanged(t)
			if logs := f.logs.String(); !strings.Contains(logs, "add-checkpoint refused") ||
				!strings.Contains(logs, fmt.Sprintf("status=%d", tt.status)) {
				t.Errorf("log = %q, want the refusal logged with its status", logs)
			}
		})
	}
}

// corruptSignature flips a bit in the signature (not the key hash) of a one-signature note.
func corruptSignature(t *testing.T, signed []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(signed, []byte(" "))
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(signed[i+1:])))
	if err != nil {
		t.Fatal(err)
	}
	sig[10] ^= 1
	return append(bytes.Clone(signed[:i+1]), base64.StdEncoding.EncodeToString(sig)+"\n"...)
}

func TestRefusalEvidenceLogged(t *testing.T) {
	f := newFixture(t, 12)
	f.advance(t, 5)
	other := newTree(t, 5, func(i int) string { return "forged " + plainLeaf(i) })
	forged := signCheckpoint(t, f.log.signer, logName, 5, other.root(t, 5))
	if _, err := f.client.AddCheckpoint(t.Context(), 5, nil, forged); !errors.Is(err, witness.ErrInconsistent) {
		t.Fatalf("AddCheckpoint(split view) = %v, want ErrInconsistent", err)
	}
	logs := f.logs.String()
	root := other.root(t, 5)
	for _, want := range []string{"level=WARN", "origin=" + logName, "old_size=5", "size=5", "witnessed_size=5", "split view", root.String()} {
		if !strings.Contains(logs, want) {
			t.Errorf("log = %q, want it to contain %q", logs, want)
		}
	}
}

func TestMethodAndPath(t *testing.T) {
	f := newFixture(t, 1)
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/add-checkpoint", http.StatusMethodNotAllowed},
		{http.MethodPut, "/add-checkpoint", http.StatusMethodNotAllowed},
		{http.MethodPost, "/add-checkpoint/", http.StatusNotFound},
		{http.MethodPost, "/sign-subtree", http.StatusNotFound},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, f.http.URL+tt.path, strings.NewReader("old 0\n\n"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	f := newFixture(t, 6)
	mux := http.NewServeMux()
	mux.Handle("/witness/", http.StripPrefix("/witness", f.server))
	f.http.Config.Handler = mux
	c := witness.NewClient(f.http.URL+"/witness/", cosigVerifier(t, f.vkey), f.http.Client())
	if _, err := c.AddCheckpoint(t.Context(), 0, nil, f.log.checkpoint(t, 6)); err != nil {
		t.Fatalf("AddCheckpoint(via /witness/) = %v", err)
	}
	if c.Name() != witnessName {
		t.Errorf("Name() = %q, want %q", c.Name(), witnessName)
	}
}

func TestDurability(t *testing.T) {
	f := newFixture(t, 12)
	f.advance(t, 7)
	_, before, _ := f.server.Latest(logName)

	f.start(t) // a new Server on the same state directory
	size, after, ok := f.server.Latest(logName)
	if !ok || size != 7 || !bytes.Equal(after, before) {
		t.Fatalf("after restart Latest() = %d, %q, %v, want 7, %q, true", size, after, ok, before)
	}
	_, err := f.client.AddCheckpoint(t.Context(), 0, nil, f.log.checkpoint(t, 12))
	var conflict *witness.ConflictError
	if !errors.As(err, &conflict) || conflict.Size != 7 {
		t.Fatalf("after restart AddCheckpoint(old 0) = %v, want *ConflictError{Size: 7}", err)
	}
	if status, ctype, reply := f.post(t, body(0, nil, f.log.checkpoint(t, 12))); status != http.StatusConflict || reply != "7\n" || ctype != "text/x.tlog.size" {
		t.Fatalf("after restart POST(old 0) = %d %q (%s), want 409 \"7\\n\" (text/x.tlog.size)", status, reply, ctype)
	}
	f.advance(t, 12)

	// The persisted checkpoint carries the log's signature and the witness's cosignature.
	_, latest, _ := f.server.Latest(logName)
	n, err := note.Open(latest, note.VerifierList(f.log.verifier, cosigVerifier(t, f.vkey)))
	if err != nil || len(n.Sigs) != 2 || len(n.UnverifiedSigs) != 0 {
		t.Fatalf("note.Open(Latest()) = %+v, %v, want exactly the log's and the witness's signatures", n, err)
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".state") {
		t.Errorf("state directory holds %v, want one .state file", entries)
	}
}

func TestNewServerRejectsBadState(t *testing.T) {
	f := newFixture(t, 3)
	f.advance(t, 3)
	entries, err := os.ReadDir(f.dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("ReadDir() = %v, %v", entries, err)
	}
	path := filepath.Join(f.dir, entries[0].Name())
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		state []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)/2]},
		{"no header", good[len("govhub/witness-state/v1\n"):]},
		{"other origin", bytes.Replace(good, []byte(logName), []byte("example.gov/other"), 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, tt.state, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := witness.NewServer(witness.Config{
				Signer:   f.signer,
				Logs:     []witness.Log{{Origin: logName, Verifier: f.log.verifier}},
				StateDir: f.dir,
			})
			if err == nil {
				t.Errorf("NewServer() with %s state = nil error, want an error", tt.name)
			}
		})
	}
}

func TestNewServerConfig(t *testing.T) {
	signer, _ := newWitnessKey(t)
	_, v := newLogKey(t, logName)
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		cfg  witness.Config
	}{
		{"no signer", witness.Config{StateDir: dir}},
		{"no state dir", witness.Config{Signer: signer}},
		{"empty origin", witness.Config{Signer: signer, StateDir: dir, Logs: []witness.Log{{Verifier: v}}}},
		{"origin with newline", witness.Config{Signer: signer, StateDir: dir, Logs: []witness.Log{{Origin: "a\nb", Verifier: v}}}},
		{"no verifier", witness.Config{Signer: signer, StateDir: dir, Logs: []witness.Log{{Origin: logName}}}},
		{"duplicate origin", witness.Config{Signer: signer, StateDir: dir, Logs: []witness.Log{{logName, v}, {logName, v}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := witness.NewServer(tt.cfg); err == nil {
				t.Errorf("NewServer(%s) = nil error, want an error", tt.name)
			}
		})
	}
}

func TestLeftoverTempFilesRemoved(t *testing.T) {
	f := newFixture(t, 3)
	f.advance(t, 3)
	entries, _ := os.ReadDir(f.dir)
	leftover := filepath.Join(f.dir, entries[0].Name()+".tmp-123")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(leftover) = %v, want it removed by NewServer", err)
	}
	if size, _, _ := f.server.Latest(logName); size != 3 {
		t.Errorf("Latest() = %d, want 3", size)
	}
}

// TestConcurrentSubmissionsNeverRollBack races many submissions of different sizes; the
// witness's size must only grow (the race at the end of the add-checkpoint section of
// tlog-witness), and it must end at the largest size submitted.
func TestConcurrentSubmissionsNeverRollBack(t *testing.T) {
	const workers = 24
	f := newFixture(t, 10+workers)
	f.advance(t, 10)

	// Round 1: everyone proves from 10 at once; exactly one may win.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []int64
		stop    = make(chan struct{})
		monitor = make(chan error, 1)
	)
	go func() { // watch the state for rollbacks while the races run
		var last uint64
		for {
			select {
			case <-stop:
				monitor <- nil
				return
			default:
			}
			size, _, _ := f.server.Latest(logName)
			if size < last {
				monitor <- fmt.Errorf("Latest() went from %d back to %d", last, size)
				return
			}
			last = size
		}
	}()
	for i := range workers {
		wg.Go(func() {
			n := int64(11 + i)
			_, err := f.client.AddCheckpoint(t.Context(), 10, f.log.tree.proof(t, 10, n), f.log.checkpoint(t, n))
			var conflict *witness.ConflictError
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, n)
				mu.Unlock()
			case errors.As(err, &conflict):
			default:
				t.Errorf("AddCheckpoint(10 → %d) = %v, want success or conflict", n, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("round 1: %d submissions from size 10 succeeded (%v), want exactly 1", len(won), won)
	}
	if size, _, _ := f.server.Latest(logName); size != uint64(won[0]) {
		t.Fatalf("round 1: Latest() = %d, want the winner's %d", size, won[0])
	}

	// Round 2: everyone retries from the witness's answer until cosigned or overtaken.
	for i := range workers {
		wg.Go(func() {
			n := int64(11 + i)
			old := uint64(0)
			for {
				_, err := f.client.AddCheckpoint(t.Context(), old, f.log.tree.proof(t, int64(old), n), f.log.checkpoint(t, n))
				var conflict *witness.ConflictError
				switch {
				case err == nil:
					return
				case errors.As(err, &conflict) && conflict.Size < uint64(n):
					old = conflict.Size
				case errors.As(err, &conflict):
					return // overtaken
				default:
					t.Errorf("AddCheckpoint(%d → %d) = %v", old, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-monitor; err != nil {
		t.Fatal(err)
	}
	if size, _, _ := f.server.Latest(logName); size != 10+workers {
		t.Fatalf("Latest() = %d, want %d (the largest size submitted)", size, 10+workers)
	}
	f.start(t)
	if size, _, _ := f.server.Latest(logName); size != 10+workers {
		t.Fatalf("after restart Latest() = %d, want %d", size, 10+workers)
	}
}

func TestLatestUnknownOrigin(t *testing.T) {
	f := newFixture(t, 1)
	if size, cp, ok := f.server.Latest("example.gov/nope"); ok || size != 0 || cp != nil {
		t.Errorf("Latest(unknown) = %d, %q, %v, want 0, nil, false", size, cp, ok)
	}
	if size, cp, ok := f.server.Latest(logName); ok || size != 0 || cp != nil {
		t.Errorf("Latest(never cosigned) = %d, %q, %v, want 0, nil, false", size, cp, ok)
	}
}
