package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/govhub/govhub/ledger"
)

// CosignTimeout bounds how long a cosign request waits for the mirror to fetch and store the
// entries of a checkpoint larger than its own.
const CosignTimeout = 60 * time.Second

// maxCheckpoint bounds a cosign request's body: a checkpoint with its signatures.
const maxCheckpoint = 64 << 10

// Handler serves the copy and the cosigning endpoint, under /<origin hash>/ (see the package doc):
//
//	GET  /<origin hash>/checkpoint                the mirror checkpoint, with the mirror's cosignature
//	GET  /<origin hash>/tile/<L>/<N>[.p/<W>]      hash tiles
//	GET  /<origin hash>/tile/entries/<N>[.p/<W>]  entry bundles (BundleAccess decides)
//	POST /<origin hash>/cosign                    cosign a checkpoint whose contents the mirror stored
func (m *Mirror) Handler() http.Handler {
	tiles := ledger.NewReader(m.cfg.Store, m.cfg.Log).Handler()
	prefix := "/" + m.originHash + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, prefix)
		switch {
		case r.URL.Path == "/":
			io.WriteString(w, "GovHub mirror of "+m.cfg.Log.Name()+": GET "+prefix+"checkpoint, GET "+prefix+"tile/…, POST "+prefix+"cosign\n")
			return
		case r.URL.Path == "/healthz":
			io.WriteString(w, "ok\n")
			return
		case !ok:
			http.Error(w, "not found: this mirror serves "+m.cfg.Log.Name()+" under "+prefix, http.StatusNotFound)
			return
		case path == "cosign":
			m.serveCosign(w, r)
			return
		}
		// The choice is made on the same (unescaped) path the tiles handler serves.
		if strings.HasPrefix(path, "tile/entries/") && m.cfg.BundleAccess != nil {
			if err := m.cfg.BundleAccess(r); err != nil {
				code := http.StatusForbidden
				if errors.Is(err, ErrNoToken) {
					code = http.StatusUnauthorized
					w.Header().Set("WWW-Authenticate", `Bearer realm="govhub-mirror"`)
				}
				http.Error(w, err.Error(), code)
				return
			}
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + path
		r2.URL.RawPath = ""
		tiles.ServeHTTP(w, r2)
	})
}

// serveCosign answers POST /<origin hash>/cosign (see the package doc).
func (m *Mirror) serveCosign(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCheckpoint))
	if err != nil {
		http.Error(w, "reading the checkpoint: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), CosignTimeout)
	defer cancel()
	sig, err := m.CosignStored(ctx, body)
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(sig)
	case errors.Is(err, ErrSignature) || errors.Is(err, ErrQuorum):
		http.Error(w, err.Error(), http.StatusForbidden)
	case errors.Is(err, ErrFork):
		http.Error(w, err.Error(), http.StatusConflict)
	default:
		// Not stored (yet): the log did not serve the contents, or they did not verify, or time ran out.
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("the mirror has not stored this checkpoint's contents (it is at size %d): %v", m.Size(), err),
			http.StatusServiceUnavailable)
	}
}
