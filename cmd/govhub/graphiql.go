package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql/playground"

	"github.com/govhub/govhub/web"
)

// graphiqlHandler serves gqlgen's GraphiQL page for endpoint, off unless configured (--graphiql;
// on in the demo). The page loads GraphiQL and React from the hub itself (web.GraphiQLAssets, the
// versions gqlgen pins, embedded), each with a Subresource Integrity hash; nothing comes from a
// CDN. The Content-Security-Policy allows this origin's scripts and stylesheets and the page's own
// inline scripts (by hash), connections to this origin only, and no framing (frame-ancestors
// 'none', X-Frame-Options: DENY). The page is rendered once, at start-up.
func graphiqlHandler(endpoint string) (http.Handler, error) {
	var page pageWriter
	at := func(name string) string { return web.GraphiQLAssetsPath + name }
	playground.Handler("GovHub", endpoint,
		playground.WithGraphiqlVersion(at(web.GraphiQLJS), at(web.GraphiQLCSS), web.GraphiQLJSSRI, web.GraphiQLCSSSRI),
		playground.WithGraphiqlReactVersion(at(web.ReactJS), at(web.ReactDOMJS), web.ReactJSSRI, web.ReactDOMJSSRI),
		playground.WithGraphiqlPluginExplorerVersion(at(web.ExplorerJS), at(web.ExplorerCSS), web.ExplorerJSSRI, web.ExplorerCSSSRI),
	).ServeHTTP(&page, nil)
	body := page.buf.Bytes()
	csp, err := graphiqlCSP(body)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		w.Write(body)
	}), nil
}

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	scriptSrc    = regexp.MustCompile(`(?s)<script\s+src="([^"]+)"\s+integrity="sha(?:256|384|512)-[^"]+"`)
	styleHref    = regexp.MustCompile(`(?s)<link\s+rel="stylesheet"\s+href="([^"]+)"\s+integrity="sha(?:256|384|512)-[^"]+"`)
)

// graphiqlCSP returns the Content-Security-Policy of the GraphiQL page: its inline scripts by hash,
// its external scripts and stylesheets by exact URL (each also carries an integrity hash), and
// nothing else. It refuses a page with an external resource that carries no integrity hash.
func graphiqlCSP(page []byte) (string, error) {
	scripts := []string{}
	inline := inlineScript.FindAllSubmatch(page, -1)
	for _, m := range inline {
		sum := sha256.Sum256(m[1])
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	srcs := scriptSrc.FindAllSubmatch(page, -1)
	hrefs := styleHref.FindAllSubmatch(page, -1)
	if n := bytes.Count(page, []byte("<script")) - len(inline); n != len(srcs) {
		return "", fmt.Errorf("the GraphiQL page loads %d scripts, %d of them with an integrity hash", n, len(srcs))
	}
	if n := bytes.Count(page, []byte(`rel="stylesheet"`)); n != len(hrefs) {
		return "", fmt.Errorf("the GraphiQL page loads %d stylesheets, %d of them with an integrity hash", n, len(hrefs))
	}
	for _, m := range srcs {
		scripts = appendSource(scripts, string(m[1]))
	}
	styles := []string{"'unsafe-inline'"} // GraphiQL styles its editors inline
	fonts := []string{"data:"}
	for _, m := range hrefs {
		styles = appendSource(styles, string(m[1]))
		// A stylesheet's fonts come from beside it.
		if u, err := url.Parse(string(m[1])); err == nil && u.Scheme == "https" && !slices.Contains(fonts, "https://"+u.Host) {
			fonts = append(fonts, "https://"+u.Host)
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src " + strings.Join(styles, " "),
		"font-src " + strings.Join(fonts, " "),
		"img-src 'self' data:",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; "), nil
}

// appendSource adds the CSP source of a page resource: 'self' for a path on this origin, else the
// exact URL.
func appendSource(list []string, u string) []string {
	src := u
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		src = "'self'"
	}
	if slices.Contains(list, src) {
		return list
	}
	return append(list, src)
}

// pageWriter collects a handler's response body.
type pageWriter struct {
	buf    bytes.Buffer
	header http.Header
}

func (p *pageWriter) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}
func (p *pageWriter) Write(b []byte) (int, error) { return p.buf.Write(b) }
func (p *pageWriter) WriteHeader(int)             {}
