package mirror

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
)

// maxFetch bounds one response from the log: a full tile is 8 KiB, a full bundle at most 256
// entries of ledger.MaxEntrySize bytes.
const maxFetch = 256*(2+ledger.MaxEntrySize) + 1<<10

// source reads the log's tlog-tiles API.
type source struct {
	base   string // the log's URL prefix, without a trailing slash
	client *http.Client
	token  func() (string, error) // bearer token for entry bundles; nil: none
}

// errRefused: the log refused to serve entry bundles to this mirror (a token is missing or wrong).
var errRefused = errors.New("the log refused the entry bundle")

func (s *source) get(ctx context.Context, path string, auth bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	if auth && s.token != nil {
		tok, err := s.token()
		if err != nil {
			return nil, err
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, maxFetch+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: %s: %w (entry bundles need an auditor token of the hub: --token or $GOVHUB_TOKEN)",
			req.URL.Redacted(), resp.Status, errRefused)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s: %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(data[:min(len(data), 200)])))
	case len(data) > maxFetch:
		return nil, fmt.Errorf("GET %s: response over %d bytes", req.URL.Redacted(), maxFetch)
	}
	return data, nil
}

func (s *source) checkpoint(ctx context.Context) ([]byte, error) {
	return s.get(ctx, "checkpoint", false)
}

// bundle returns entry bundle n of width w (1 to 256).
func (s *source) bundle(ctx context.Context, n uint64, w int) ([]byte, error) {
	return s.get(ctx, ledger.FormatTilePath(true, 0, n, partial(w)), true)
}

// partial is the width in a tile path: 0 for a full tile.
func partial(w int) int {
	if w == 256 {
		return 0
	}
	return w
}

// tileReader is a tlog.TileReader over the log's hash tiles, caching what it fetched. Wrapped in
// tlog.TileHashReader, every tile it returns is authenticated against a checkpoint's root before
// any hash in it is used.
type tileReader struct {
	ctx context.Context
	src *source

	mu       sync.Mutex
	cache    map[tlog.Tile][]byte
	fetchErr error // the last fetch that failed: not the log's contents failing to verify
}

// failed returns the last fetch error, if any.
func (r *tileReader) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetchErr
}

func newTileReader(ctx context.Context, src *source) *tileReader {
	return &tileReader{ctx: ctx, src: src, cache: map[tlog.Tile][]byte{}}
}

func (r *tileReader) Height() int { return ledger.TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		r.mu.Lock()
		d, ok := r.cache[t]
		r.mu.Unlock()
		if !ok {
			var err error
			d, err = r.src.get(r.ctx, ledger.FormatTilePath(false, uint(t.L), uint64(t.N), partial(t.W)), false)
			if err != nil {
				r.mu.Lock()
				r.fetchErr = err
				r.mu.Unlock()
				return nil, err
			}
			r.mu.Lock()
			if len(r.cache) > 4096 {
				clear(r.cache)
			}
			r.cache[t] = d
			r.mu.Unlock()
		}
		out[i] = d
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// storedTiles is a tlog.TileReader over the mirror's own stored tiles.
type storedTiles struct {
	ctx context.Context
	ts  ledger.TileStorage
}

func (r storedTiles) Height() int { return ledger.TileHeight }

func (r storedTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, err := r.ts.ReadTile(r.ctx, uint(t.L), uint64(t.N))
		if err != nil {
			return nil, fmt.Errorf("reading stored tile %d/%d: %w", t.L, t.N, err)
		}
		if len(d) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("stored tile %d/%d is short", t.L, t.N)
		}
		out[i] = d[:t.W*tlog.HashSize]
	}
	return out, nil
}

func (r storedTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}
