package web_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/web"
)

func serve(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := web.Handler(web.Config{GraphQLPath: "/api/graphql"})
	for _, tc := range []struct {
		method, target string
		status         int
		contentType    string
		cache          string
	}{
		{"GET", "/console", 200, "text/html; charset=utf-8", "no-store"},
		{"HEAD", "/console", 200, "text/html; charset=utf-8", "no-store"},
		{"GET", "/static/console.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/gql.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/i18n.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/ui.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/verify.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/app.css", 200, "text/css; charset=utf-8", "no-cache"},
		{"GET", "/static/console.css", 200, "text/css; charset=utf-8", "no-cache"},
		{"GET", "/portal", 200, "text/html; charset=utf-8", "no-store"},
		{"GET", "/static/portal.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/portal.messages.js", 200, "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/static/portal.css", 200, "text/css; charset=utf-8", "no-cache"},
		{"GET", "/static/portal.html", 404, "", ""},
		{"GET", "/static/console.html", 404, "", ""},
		{"GET", "/static/missing.js", 404, "", ""},
		{"GET", "/static/", 404, "", ""},
		{"GET", "/console/", 404, "", ""},
		{"POST", "/console", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			w := serve(t, h, tc.method, tc.target, nil)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d", w.Code, tc.status)
			}
			hd := w.Header()
			if got := hd.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy || strings.Contains(got, "unsafe") {
				t.Errorf("Content-Security-Policy = %q, want %q", got, web.ContentSecurityPolicy)
			}
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers = %v, want nosniff and no-referrer", hd)
			}
			if tc.status != 200 {
				return
			}
			if hd.Get("Content-Type") != tc.contentType || hd.Get("Cache-Control") != tc.cache {
				t.Errorf("Content-Type, Cache-Control = %q, %q; want %q, %q", hd.Get("Content-Type"), hd.Get("Cache-Control"), tc.contentType, tc.cache)
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD body = %d bytes, want none", w.Body.Len())
			}
		})
	}

	page := serve(t, h, "GET", "/console", nil).Body.String()
	if !strings.Contains(page, `<meta name="govhub-graphql" content="/api/graphql">`) || strings.Contains(page, "{{") {
		t.Errorf("console page does not name the configured GraphQL path:\n%s", page[:min(len(page), 600)])
	}
	w := serve(t, h, "GET", "/static/console.js", nil)
	etag := w.Header().Get("ETag")
	if len(etag) != 34 {
		t.Fatalf("ETag = %q, want a quoted 32-digit hash", etag)
	}
	if w := serve(t, h, "GET", "/static/console.js", http.Header{"If-None-Match": {etag}}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("revalidating with the ETag: %d, %d bytes; want 304, empty", w.Code, w.Body.Len())
	}
	if def := serve(t, web.Handler(web.Config{}), "GET", "/console", nil).Body.String(); !strings.Contains(def, `content="/graphql"`) {
		t.Errorf("the default GraphQL path is not /graphql")
	}
}

// The pages run under a CSP without 'unsafe-inline', load nothing from elsewhere, and never put
// data into the document as HTML.
func TestStaticFilesSafe(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	badHTML := regexp.MustCompile(`\sstyle=|\son[a-z]+=|<style|(?:src|href)="(?:https?:)?//`)
	badJS := regexp.MustCompile(`\.innerHTML|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|(?:import|from)\s*['"]https?:`)
	badCSS := regexp.MustCompile(`@import|url\(\s*['"]?(?:https?:)?//`)
	err := fs.WalkDir(web.Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			return err
		}
		s := string(b)
		switch path.Ext(name) {
		case ".html":
			for _, tag := range inlineScript.FindAllString(s, -1) {
				// A JSON data block is never executed (the portal's trusted keys); anything else
				// must load a file.
				if !strings.Contains(tag, " src=") && !strings.Contains(tag, ` type="application/json"`) {
					t.Errorf("%s: inline script %s", name, tag)
				}
			}
			if m := badHTML.FindString(s); m != "" {
				t.Errorf("%s: %q (inline style or handler, or an external resource)", name, m)
			}
		case ".js":
			if m := badJS.FindString(s); m != "" {
				t.Errorf("%s: %q (data as HTML, code from strings, or an external module)", name, m)
			}
		case ".css":
			if m := badCSS.FindString(s); m != "" {
				t.Errorf("%s: %q (an external resource)", name, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Both languages have every message, and every key a page uses exists.
func TestMessages(t *testing.T) {
	read := func(name string) string {
		b, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, page := range []string{"console", "portal"} {
		t.Run(page, func(t *testing.T) {
			msgs := read(page + ".messages.js")
			en, zh, ok := strings.Cut(msgs, "\n  'zh-CN': {")
			if !ok {
				t.Fatalf("%s.messages.js: no zh-CN block", page)
			}
			keyRE := regexp.MustCompile(`(?m)^    '?([\w.-]+)'?:`)
			keys := func(s string) []string {
				var out []string
				for _, m := range keyRE.FindAllStringSubmatch(s, -1) {
					out = append(out, m[1])
				}
				slices.Sort(out)
				return out
			}
			enKeys, zhKeys := keys(en), keys(zh)
			if len(enKeys) < 50 || !slices.Equal(enKeys, zhKeys) {
				t.Errorf("message keys differ between languages:\nen %v\nzh %v", enKeys, zhKeys)
			}
			used := map[string]bool{}
			for _, m := range regexp.MustCompile(`data-i18n(?:-[a-z-]+)?="([\w.-]+)"`).FindAllStringSubmatch(read(page+".html"), -1) {
				used[m[1]] = true
			}
			for _, m := range regexp.MustCompile(`\bt\('([\w.-]+)'[,)]`).FindAllStringSubmatch(read(page+".js"), -1) {
				used[m[1]] = true
			}
			for k := range used {
				if _, found := slices.BinarySearch(enKeys, k); !found {
					t.Errorf("message %q is used but not defined", k)
				}
			}
		})
	}
}

// The portal page carries the configured keys as a JSON data block, escaped so that no key text
// can end the element, and the demo token path only under the demo.
func TestPortalTrust(t *testing.T) {
	cfg := web.Config{LogKey: "govhub.test/ledger+01234567+AQ==", WitnessKeys: []string{"w1</script><script>alert(1)//+abcdef01+BA=="}, Quorum: 1}
	re := regexp.MustCompile(`(?s)<script type="application/json" id="govhub-config">(.*?)</script>`)
	for _, demo := range []bool{false, true} {
		cfg.Demo = demo
		page := serve(t, web.Handler(cfg), "GET", "/portal", nil).Body.String()
		m := re.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("portal page has no config block:\n%s", page[:min(len(page), 800)])
		}
		var got web.Trust
		if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
			t.Fatalf("config block %q: %v", m[1], err)
		}
		want := web.Trust{LogKey: cfg.LogKey, WitnessKeys: cfg.WitnessKeys, Quorum: 1, Demo: demo}
		if demo {
			want.DemoTokenPath = web.DemoCitizenTokenPath
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("demo=%v: config = %+v, want %+v", demo, got, want)
		}
		if strings.Count(page, "<script") != 2 || strings.Contains(page, "{{") {
			t.Errorf("demo=%v: the key text broke out of the data block or a placeholder is left:\n%s", demo, page)
		}
	}
}
