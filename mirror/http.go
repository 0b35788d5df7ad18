package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// CosignTimeout bounds how long a cosign request waits for the mirror to fetch and store the
// entries of a checkpoint larger than its own.
const CosignTimeout = 60 * time.Second

// maxCheckpoint bounds a cosign request's body: a checkpoint with its signatures.
const maxCheckpoint = 64 << 10

// Handler serves the copy and the cosigning endpoint, under /<origin hash>/ for the origin of
// every key in the log key history the mirror holds (see the package doc):
//
//	GET  /<origin hash>/checkpoint                the mirror checkpoint, with the mirror's cosignature
//	GET  /<origin hash>/tile/<L>/<N>[.p/<W>]      hash tiles
//	GET  /<origin hash>/tile/entries/<N>[.p/<W>]  entry bundles (BundleAccess decides)
//	GET  /<origin hash>/log-keys                  the log key history (ledger.Keys.Document)
//	POST /<origin hash>/cosign                    cosign a checkpoint whose contents the mirror stored
//
// A cosign request under the hash of an origin the mirror does not know yet is taken when the
// checkpoint posted is of that origin: the mirror then reads the log's key history (keys.go).
func (m *Mirror) Handler() http.Handler {
	first := "/" + m.originHash + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		m.mu.Lock()
		known, tiles := m.prefixes[hash], m.reader
		m.mu.Unlock()
		switch {
		case r.URL.Path == "/":
			io.WriteString(w, "GovHub mirror of "+m.cfg.Log.Name()+": GET "+first+"checkpoint, GET "+first+"tile/…, GET "+first+"log-keys, POST "+first+"cosign\n")
			return
		case r.URL.Path == "/healthz":
			io.WriteString(w, "ok\n")
			return
		case path == "cosign" && (known || len(hash) == 64):
			m.serveCosign(w, r, hash, known)
			return
		case !known:
			http.Error(w, "not found: this mirror serves "+m.cfg.Log.Name()+" under "+first, http.StatusNotFound)
			return
		case path == "log-keys" && len(tiles.Keys().Eras()) == 1 && tiles.Keys().Eras()[0].Key == "":
			http.Error(w, "not found: the log's key was not rotated; its one key is "+m.cfg.Log.Name()+"'s", http.StatusNotFound)
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
		tiles.Handler().ServeHTTP(w, r2)
	})
}

// serveCosign answers POST /<origin hash>/cosign (see the package doc). Under the hash of an
// origin the mirror does not know (known false), only a checkpoint of that origin is taken.
func (m *Mirror) serveCosign(w http.ResponseWriter, r *http.Request, hash string, known bool) {
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
	if !known && originHash(originOf(body)) != hash {
		http.Error(w, "not found: this mirror serves "+m.cfg.Log.Name()+" under /"+m.originHash+"/", http.StatusNotFound)
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
