package witness_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/govhub/govhub/ledger/witness"
	"golang.org/x/mod/sumdb/note"
)

// cosignLine returns the cosignature line s makes on the text of checkpoint.
func cosignLine(t *testing.T, s note.Signer, checkpoint []byte) string {
	t.Helper()
	text := checkpoint[:bytes.LastIndex(checkpoint, []byte("\n\n"))+1]
	signed, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(signed[len(text)+1:])
}

// fakeWitness answers every request with status and the reply built by reply.
func fakeWitness(t *testing.T, status int, reply func(checkpoint []byte) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, cp, _ := bytes.Cut(b, []byte("\n\n"))
		w.WriteHeader(status)
		io.WriteString(w, reply(cp))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClientIgnoresOtherWitnessKeys(t *testing.T) {
	f := newFixture(t, 4)
	stranger, _ := newWitnessKey(t) // same name, different key
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, cp, _ := bytes.Cut(b, []byte("\n\n"))
		rec := httptest.NewRecorder()
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.server.ServeHTTP(rec, r)
		other := cosignLine(t, stranger, cp)
		io.WriteString(w, other+rec.Body.String()+other)
	}))
	t.Cleanup(proxy.Close)

	c := witness.NewClient(proxy.URL, cosigVerifier(t, f.vkey), proxy.Client())
	cp := f.log.checkpoint(t, 4)
	cosig, err := c.AddCheckpoint(t.Context(), 0, nil, cp)
	if err != nil {
		t.Fatalf("AddCheckpoint() = %v", err)
	}
	n, err := note.Open(append(bytes.Clone(cp), cosig...), note.VerifierList(cosigVerifier(t, f.vkey)))
	if err != nil || len(n.Sigs) != 1 || bytes.Count(cosig, []byte("\n")) != 1 {
		t.Fatalf("AddCheckpoint() = %q, want only the witness's own cosignature (note.Open: %+v, %v)", cosig, n, err)
	}
}

func TestClientRejectsBadReplies(t *testing.T) {
	f := newFixture(t, 4)
	stranger, _ := newWitnessKey(t)

	// A cosignature/v1 by the witness key with a zero timestamp, made by hand.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := note.NewEd25519VerifierKey(witnessName, pub)
	if err != nil {
		t.Fatal(err)
	}
	zeroTime := func(cp []byte) string {
		text := cp[:bytes.LastIndex(cp, []byte("\n\n"))+1]
		sig := binary.BigEndian.AppendUint32(nil, cosigVerifier(t, vkey).KeyHash())
		sig = append(sig, make([]byte, 8)...)
		sig = append(sig, ed25519.Sign(priv, append([]byte("cosignature/v1\ntime 0\n"), text...))...)
		return "— " + witnessName + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
	}

	tests := []struct {
		name    string
		vkey    string
		status  int
		reply   func(cp []byte) string
		wantErr error // nil: any error that wraps none of the sentinels
	}{
		{"only another key's cosignature", f.vkey, 200, func(cp []byte) string { return cosignLine(t, stranger, cp) }, witness.ErrBadCosignature},
		{"tampered cosignature", f.vkey, 200, func(cp []byte) string {
			return string(corruptSignature(t, []byte("x\n\n"+cosignLine(t, f.signer, cp))))[3:]
		}, witness.ErrBadCosignature},
		{"cosignature of another checkpoint", f.vkey, 200, func([]byte) string {
			return cosignLine(t, f.signer, f.log.checkpoint(t, 2))
		}, witness.ErrBadCosignature},
		{"zero timestamp", vkey, 200, zeroTime, witness.ErrBadCosignature},
		{"empty 200", f.vkey, 200, func([]byte) string { return "" }, witness.ErrBadCosignature},
		{"not a signature line", f.vkey, 200, func([]byte) string { return "ok\n" }, witness.ErrBadCosignature},
		{"unterminated line", f.vkey, 200, func(cp []byte) string { return strings.TrimSuffix(cosignLine(t, f.signer, cp), "\n") }, witness.ErrBadCosignature},
		{"413", f.vkey, 413, func([]byte) string { return "too large\n" }, witness.ErrBadRequest},
		{"409 without a size", f.vkey, 409, func([]byte) string { return "conflict\n" }, nil},
		{"409 with a leading zero", f.vkey, 409, func([]byte) string { return "07\n" }, nil},
		{"409 without newline", f.vkey, 409, func([]byte) string { return "7" }, nil},
		{"500", f.vkey, 500, func([]byte) string { return "internal error\n" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeWitness(t, tt.status, tt.reply)
			c := witness.NewClient(srv.URL, cosigVerifier(t, tt.vkey), srv.Client())
			cosig, err := c.AddCheckpoint(t.Context(), 0, nil, f.log.checkpoint(t, 4))
			if err == nil {
				t.Fatalf("AddCheckpoint() = %q, nil, want an error", cosig)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("AddCheckpoint() = %v, want %v", err, tt.wantErr)
			}
			var conflict *witness.ConflictError
			if tt.wantErr == nil && (errors.As(err, &conflict) || errors.Is(err, witness.ErrBadRequest) ||
				errors.Is(err, witness.ErrBadCosignature) || errors.Is(err, witness.ErrInconsistent)) {
				t.Errorf("AddCheckpoint() = %v, want an error that is none of the refusals", err)
			}
		})
	}
}

func TestClientRefusesLocally(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	_, vkey := newWitnessKey(t)
	c := witness.NewClient(srv.URL, cosigVerifier(t, vkey), srv.Client())
	s, _ := newLogKey(t, logName)
	cp := signCheckpoint(t, s, logName, 3, newTree(t, 3, plainLeaf).root(t, 3))

	if _, err := c.AddCheckpoint(t.Context(), 1, make([][32]byte, witness.MaxProofLines+1), cp); !errors.Is(err, witness.ErrBadRequest) {
		t.Errorf("AddCheckpoint(64 proof hashes) = %v, want ErrBadRequest", err)
	}
	if _, err := c.AddCheckpoint(t.Context(), 0, nil, []byte("not a note\n")); !errors.Is(err, witness.ErrBadRequest) {
		t.Errorf("AddCheckpoint(not a note) = %v, want ErrBadRequest", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the witness, want 0", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.AddCheckpoint(ctx, 0, nil, cp); !errors.Is(err, context.Canceled) {
		t.Errorf("AddCheckpoint(cancelled context) = %v, want context.Canceled", err)
	}
}
