package ledger_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

func TestTilePaths(t *testing.T) {
	for _, tc := range []struct {
		path    string
		entries bool
		level   uint
		n       uint64
		width   int
	}{
		{"tile/0/000", false, 0, 0, 0},
		{"tile/0/000.p/1", false, 0, 0, 1},
		{"tile/2/x001/x234/067", false, 2, 1234067, 0},
		{"tile/63/999.p/255", false, 63, 999, 255},
		{"tile/entries/x001/234.p/17", true, 0, 1234, 17},
	} {
		e, l, n, w, err := ledger.ParseTilePath(tc.path)
		if err != nil || e != tc.entries || l != tc.level || n != tc.n || w != tc.width {
			t.Errorf("ParseTilePath(%q) = %v %d %d %d, %v", tc.path, e, l, n, w, err)
		}
		if got := ledger.FormatTilePath(tc.entries, tc.level, tc.n, tc.width); got != tc.path {
			t.Errorf("FormatTilePath = %q, want %q", got, tc.path)
		}
	}
	for _, bad := range []string{"tile/0/0", "tile/0/1234", "tile/00/000", "tile/64/000", "tile/0/x000/001", "tile/0/001/002",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/-1/000", "tile/data/000", "tile/0/x1/000", "checkpoint/x", "tile/0/000/"} {
		if _, _, _, _, err := ledger.ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%q) = nil error", bad)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/2/x001/x234/067", "tile/entries/x001/234.p/17"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		e, l, n, w, err := ledger.ParseTilePath(path)
		if err != nil {
			return
		}
		if got := ledger.FormatTilePath(e, l, n, w); got != path {
			t.Fatalf("FormatTilePath(ParseTilePath(%q)) = %q", path, got)
		}
	})
}

// httpTiles reads tiles over the tlog-tiles API, for tlog.TileHashReader.
type httpTiles struct {
	t   *testing.T
	url string
}

func (h httpTiles) Height() int { return ledger.TileHeight }

func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tl := range tiles {
		w := tl.W
		if w == 1<<ledger.TileHeight {
			w = 0
		}
		resp, err := http.Get(h.url + "/" + ledger.FormatTilePath(false, uint(tl.L), uint64(tl.N), w))
		if err != nil {
			return nil, err
		}
		out[i], _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			return nil, fmt.Errorf("GET tile %v: %s %q", tl, resp.Status, resp.Header.Get("Cache-Control"))
		}
	}
	return out, nil
}

func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// A client that has only the checkpoint and the tiles served over HTTP recomputes the root and
// proves entries with sumdb/tlog; entry bundles hash to the level-0 tiles.
func TestTilesHandler(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	leaves := appendN(t, l, 600)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cp, err := l.WaitCheckpoint(ctx, 600)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/log", l.Reader().Handler()))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got, err := ledger.ParseCheckpoint(body, v)
	if err != nil || got.Size != cp.Size || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("GET checkpoint = %q, %v", body, err)
	}

	r := tlog.TileHashReader(tlog.Tree{N: int64(got.Size), Hash: got.Root}, httpTiles{t, srv.URL + "/log"})
	if root, err := tlog.TreeHash(int64(got.Size), r); err != nil || root != got.Root {
		t.Fatalf("root from served tiles = %s, %v; want %s", root, err, got.Root)
	}
	p, err := tlog.ProveRecord(int64(got.Size), 300, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, int64(got.Size), got.Root, 300, ledger.LeafHash(leaves[300])); err != nil {
		t.Errorf("proof from served tiles: %v", err)
	}

	// Entry bundles, gzip-compressed on request, hash to the level-0 tile.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/log/tile/entries/001.p/88", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("entry bundle not gzip: %v", err)
	}
	data, _ := io.ReadAll(zr)
	resp.Body.Close()
	entries, err := ledger.ParseBundle(data)
	if err != nil || len(entries) != 88 {
		t.Fatalf("bundle 1.p/88 = %d entries, %v", len(entries), err)
	}
	for i, e := range entries {
		if !bytes.Equal(e, leaves[uint64(256+i)]) {
			t.Fatalf("bundle entry %d differs from the appended entry", 256+i)
		}
	}

	for _, path := range []string{"/log/tile/0/003", "/log/tile/0/002.p/89", "/log/tile/1/000.p/3", "/log/tile/entries/003", "/log/tile/0/0"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %s, want 404 (beyond the published tree or malformed)", path, resp.Status)
		}
	}
}
