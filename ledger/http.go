package ledger

import (
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Handler serves the log's read API, C2SP tlog-tiles, for requests whose path (after any mount
// prefix has been stripped) is one of
//
//	checkpoint                      the latest published checkpoint (cosigned when the log has witnesses)
//	tile/<L>/<N>[.p/<W>]            hash tiles, e.g. tile/0/x001/234.p/17
//	tile/entries/<N>[.p/<W>]        entry bundles
//	log-keys                        the log key's history (keys.go), a GovHub addition to the API
//
// Tiles and bundles are served only within the published tree, with long-lived caching headers
// (a tile of a given width never changes); the checkpoint may be cached for two seconds. Entry
// bundles are compressed when the client accepts gzip. Access control (who may read entries) is the
// caller's: wrap the handler.
func (r *Reader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		_, cp, err := r.heads(req.Context())
		if err != nil {
			http.Error(w, "storage error", http.StatusInternalServerError)
			return
		}
		path := strings.TrimPrefix(req.URL.Path, "/")
		if path == "log-keys" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=2")
			w.Write(r.keys().Document())
			return
		}
		if path == "checkpoint" {
			if cp.Note == nil {
				http.Error(w, "no checkpoint has been cosigned yet", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=2")
			w.Write(cp.Note)
			return
		}
		entries, level, n, width, err := ParseTilePath(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		size := cp.Size
		count := size >> (TileHeight * level) // hashes (or entries) on this level
		if entries {
			count = size
		}
		end := n*tileWidth + uint64(width)
		if width == 0 {
			end = (n + 1) * tileWidth
		}
		if end > count || end <= n*tileWidth {
			http.Error(w, "no such tile in the published tree", http.StatusNotFound)
			return
		}
		var data []byte
		if entries {
			data, err = r.store.ReadBundle(req.Context(), n)
			if err == nil {
				data, err = BundlePrefix(data, int(end-n*tileWidth))
			}
		} else {
			data, err = r.store.ReadTile(req.Context(), level, n)
			if err == nil {
				want := int(end-n*tileWidth) * tlog.HashSize
				if len(data) < want {
					err = fmt.Errorf("tile %d/%d is short", level, n)
				} else {
					data = data[:want]
				}
			}
		}
		if errors.Is(err, ErrNotFound) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "storage error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if entries {
			w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
			w.Header().Set("Vary", "Authorization, Accept-Encoding")
			if strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				zw.Write(data)
				zw.Close()
				return
			}
		} else {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		w.Write(data)
	})
}

// ParseTilePath parses "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (C2SP tlog-tiles): N
// in 3-digit path elements, all but the last prefixed with "x"; W from 1 to 255, 0 meaning a full
// tile. It rejects every non-canonical spelling.
func ParseTilePath(path string) (entries bool, level uint, n uint64, width int, err error) {
	bad := func() (bool, uint, uint64, int, error) {
		return false, 0, 0, 0, fmt.Errorf("ledger: %q is not a tile path", path)
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad()
	}
	head, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	if head == "entries" {
		entries = true
	} else {
		l, err := strconv.ParseUint(head, 10, 8)
		if err != nil || l > 63 || strconv.FormatUint(l, 10) != head {
			return bad()
		}
		level = uint(l)
	}
	if body, w, ok := strings.Cut(rest, ".p/"); ok {
		x, err := strconv.Atoi(w)
		if err != nil || x < 1 || x > 255 || strconv.Itoa(x) != w {
			return bad()
		}
		width, rest = x, body
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		last := i == len(parts)-1
		if !last {
			if !strings.HasPrefix(p, "x") {
				return bad()
			}
			p = p[1:]
		}
		if len(p) != 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' {
			return bad()
		}
		d, _ := strconv.Atoi(p)
		if n > (1<<64-1)/1000 {
			return bad()
		}
		n = n*1000 + uint64(d)
	}
	if len(parts) > 1 && parts[0] == "x000" {
		return bad() // leading zero element
	}
	if FormatTilePath(entries, level, n, width) != path {
		return bad()
	}
	return entries, level, n, width, nil
}

// FormatTilePath is the inverse of ParseTilePath.
func FormatTilePath(entries bool, level uint, n uint64, width int) string {
	var b strings.Builder
	b.WriteString("tile/")
	if entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.FormatUint(uint64(level), 10))
	}
	var groups []string
	for {
		groups = append([]string{fmt.Sprintf("%03d", n%1000)}, groups...)
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i, g := range groups {
		b.WriteString("/")
		if i < len(groups)-1 {
			b.WriteString("x")
		}
		b.WriteString(g)
	}
	if width > 0 {
		b.WriteString(".p/" + strconv.Itoa(width))
	}
	return b.String()
}
