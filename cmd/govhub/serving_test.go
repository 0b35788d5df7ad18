package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/demo"
)

// TestGraphiQL: GraphiQL is off unless configured; when on, the page's scripts are pinned by
// integrity hashes, and a Content-Security-Policy allows exactly them and no framing.
func TestGraphiQL(t *testing.T) {
	h := startHub(t, 1)
	get := func(handler http.Handler) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/graphiql", nil))
		return w
	}
	if w := get(h.handler); w.Code != http.StatusNotFound {
		t.Errorf("GET /graphiql without --graphiql = %d, want 404", w.Code)
	}
	h.app.cfg.GraphiQL = true
	w := get(h.app.handler())
	if w.Code != http.StatusOK {
		t.Fatalf("GET /graphiql with --graphiql = %d", w.Code)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "connect-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src 'unsafe-inline'") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q allows more scripts than the page's", csp)
	}
	if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	page := w.Body.String()
	if strings.Contains(page, "https://") || strings.Contains(csp, "https://") {
		t.Errorf("the page or its policy names another origin: nothing may come from a CDN")
	}
	// Every script and stylesheet file comes from this origin, carries an integrity hash, is
	// allowed by the policy ('self'), and is served with those exact bytes.
	tags := regexp.MustCompile(`(?s)<(script|link)\b[^>]*>`).FindAllString(page, -1)
	external := 0
	for _, tag := range tags {
		src := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindStringSubmatch(tag)
		if src == nil {
			continue
		}
		external++
		if !strings.Contains(tag, `integrity="sha`) {
			t.Errorf("%s has no integrity hash", tag)
		}
		if !strings.HasPrefix(src[1], "/") || !strings.Contains(csp, "'self'") {
			t.Errorf("%s is not a file of this origin allowed by the policy %q", src[1], csp)
			continue
		}
		aw := httptest.NewRecorder()
		h.app.handler().ServeHTTP(aw, httptest.NewRequest(http.MethodGet, src[1], nil))
		sum := sha256.Sum256(aw.Body.Bytes())
		if aw.Code != http.StatusOK || !strings.Contains(html.UnescapeString(tag), "sha256-"+base64.StdEncoding.EncodeToString(sum[:])) {
			t.Errorf("GET %s = %d, %d bytes, not the bytes its integrity hash names", src[1], aw.Code, aw.Body.Len())
		}
	}
	if external == 0 {
		t.Errorf("no external resources found in the page:\n%s", page)
	}
	// Every inline script is allowed by its hash, and nothing else inline.
	for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
			t.Errorf("an inline script is not allowed by hash")
		}
	}
}

// TestRequestDeadline: a request's context carries the configured deadline down to the store: with
// a deadline that has passed, a citizen read fails closed as UNAVAILABLE, releasing nothing.
func TestRequestDeadline(t *testing.T) {
	var got time.Duration
	withRequestDeadline(30*time.Second, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, ok := r.Context().Deadline(); ok {
			got = time.Until(d)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/checkpoint", nil))
	if got <= 29*time.Second || got > 30*time.Second {
		t.Errorf("a request's deadline is %v away, want 30s", got)
	}
	for _, r := range []*http.Request{httptest.NewRequest(http.MethodGet, "/graphql", nil), httptest.NewRequest(http.MethodPost, "/graphql", nil)} {
		if r.Method == http.MethodGet {
			r.Header.Set("Upgrade", "websocket")
		}
		withRequestDeadline(time.Second, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Context().Deadline(); ok {
				t.Errorf("%s %s got a request deadline, want GraphQL's own (per operation)", r.Method, r.URL)
			}
		})).ServeHTTP(httptest.NewRecorder(), r)
	}

	h := startHub(t, 2)
	c := h.findCitizen(2, "identity")
	h.app.cfg.RequestTimeout = time.Nanosecond
	h.handler = h.app.handler()
	b, _ := json.Marshal(map[string]any{"query": eligibilityQuery, "variables": map[string]any{"id": c.ID}})
	w := h.post(http.Header{"Authorization": {"Bearer " + h.token(housingClerk)}}, string(b))
	var res result
	json.Unmarshal(w.Body.Bytes(), &res)
	if get(res.Data, "citizen") != nil {
		t.Errorf("a request past its deadline released %v", res.Data)
	}
	if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Errorf("errors %+v, want UNAVAILABLE", res.Errors)
	}
}

// TestFileModes: every file the hub creates in a fresh data directory is its own: directories
// 0700, files 0600 (the embedded database's SQLite files included, written by FerretDB).
func TestFileModes(t *testing.T) {
	// A data directory the hub creates (t.TempDir itself is the test's, 0755).
	h := &testHub{t: t, dir: filepath.Join(t.TempDir(), "data"), gen: demo.NewGenerator(testSeed)}
	h.open()
	if err := seedDemo(t.Context(), h.app, 2, testSeed); err != nil {
		t.Fatal(err)
	}
	// Reads and writes make SQLite create its journal files.
	h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": h.findCitizen(2, "identity").ID})
	checkModes := func() {
		t.Helper()
		n := 0
		err := filepath.WalkDir(h.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			switch {
			case d.IsDir():
				want = 0o700
			case fi.Mode()&fs.ModeSocket != 0:
				want = 0o600
			case !fi.Mode().IsRegular():
				t.Errorf("%s is a %v", path, fi.Mode().Type())
				return nil
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s has mode %v, want %v", strings.TrimPrefix(path, h.dir), got, want)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 5 {
			t.Errorf("only %d entries under the data directory", n)
		}
	}
	checkModes()
	// Again after a restart on the same directory.
	h.close()
	h.open()
	checkModes()
}

// TestDemoTokensStayOutOfLogs: the demo prints live tokens only to a terminal; output that is not
// one (a log file, a journal) gets the path of a 0600 file holding them instead.
func TestDemoTokensStayOutOfLogs(t *testing.T) {
	h := startHub(t, 1)
	var out bytes.Buffer
	if err := printDemo(&out, h.app, "http://127.0.0.1:1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "eyJ") {
		t.Errorf("the demo wrote tokens to output that is not a terminal:\n%s", out.String())
	}
	path := filepath.Join(h.dir, demoTokensFile)
	if !strings.Contains(out.String(), path) {
		t.Errorf("the output does not say where the tokens are:\n%s", out.String())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		_, tok, ok := strings.Cut(line, "_TOKEN=")
		if !ok {
			continue
		}
		if _, err := h.app.verifier.Verify(tok); err != nil {
			t.Errorf("%s: %v", line[:strings.Index(line, "=")], err)
		}
		n++
	}
	if n != len(demoPrincipals) {
		t.Errorf("%s holds %d tokens, want %d", path, n, len(demoPrincipals))
	}
}
