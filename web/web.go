// Package web holds GovHub's browser-side files, embedded in the binary so that the pages work
// offline and from a single executable (ARCHITECTURE §7; issue 9: no CDN, no external script or font),
// and the handler that serves them.
//
// The files, under static/:
//   - verify.js: the citizen's in-browser verifier, a dependency-free ES module that checks, with
//     WebCrypto only, an entry's leaf hash (govhub/entry/v1 or v2), the citizen's salted subject
//     commitment in it (or, for a v2 list page, its path to the page's subject tree root), its RFC
//     6962 inclusion proof, the hub's signature and a quorum of witness cosignatures on the
//     checkpoint (C2SP signed-note, tlog-checkpoint, tlog-cosignature), and a consistency proof
//     from the last checkpoint the page verified; signed receipts; and the log key's history
//     (GET /log-keys), verified from the trusted first key, under which each checkpoint and
//     receipt is checked by the key of its era. Its contract and formats are documented at the
//     top of the file.
//   - console.html, console.js, console.messages.js, console.css: the privacy officers' console
//     (officer tokens; auditors read only), speaking GraphQL to the hub.
//   - portal.html, portal.js, portal.messages.js, portal.css: the citizens' portal (citizen
//     tokens): who accessed my data, live; each entry verified in the page with verify.js against
//     the keys the hub was configured with (Config.LogKey, WitnessKeys, Quorum, rendered into the
//     page as JSON data, never script); receipts; my data and its openings; questions.
//   - certverify.js: checks certificates in the browser: RFC 8785 canonical JSON, Multikey, the
//     W3C Data Integrity eddsa-jcs-2022 proof with WebCrypto, and the threshold proofs with
//     rangeproof.wasm, crypto/rangeproof compiled to WebAssembly by `go generate ./web`
//     (generate.go; wasm_exec.js is the Go toolchain's loader for it). Pages that load it are
//     served with VerifyPageContentSecurityPolicy.
//   - gql.js, i18n.js, ui.js, app.css: helpers and styles shared by the pages: a GraphQL client
//     that turns errors into words, the language choice (Simplified Chinese or English, from the
//     browser's languages, switched by the user and kept in localStorage "govhub.lang"), and the
//     pages' plumbing (text-only element builder, error display, tabs, token and sign-in form).
//
// The pages hold no secrets and no business rules: every decision is the hub's, through
// /graphql, and a bearer token pasted by the user stays in the tab's sessionStorage.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Static returns the embedded static files, rooted at the static directory: "verify.js" is the
// verifier module. The files are immutable for the life of the binary.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: embedded static directory missing: " + err.Error()) // cannot happen: go:embed checked it
	}
	return sub
}

// ContentSecurityPolicy is sent with every page and asset: scripts, styles and connections from
// the hub's own origin only (no inline script or style, no CDN), no framing, no <base>.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// VerifyPageContentSecurityPolicy is ContentSecurityPolicy for the certificate verification page,
// which also compiles the threshold-proof verifier (rangeproof.wasm, from the hub itself):
// 'wasm-unsafe-eval' allows WebAssembly and nothing else (no eval of script).
const VerifyPageContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// DefaultGraphQLPath is where the pages send GraphQL requests unless Config says otherwise.
const DefaultGraphQLPath = "/graphql"

// Config configures Handler. The zero value is valid.
type Config struct {
	// GraphQLPath is the path of the hub's GraphQL endpoint, on the pages' origin
	// (default DefaultGraphQLPath). The pages read it from <meta name="govhub-graphql">.
	GraphQLPath string

	// LogKey is the ledger's note verifier key (govhub ledger pubkey), WitnessKeys the witnesses'
	// cosignature verifier keys (the hub's --witness URL=KEY) and Quorum how many of them must have
	// cosigned a checkpoint. The portal trusts these, and only these, to verify proofs: they are
	// rendered into the page when the handler is built, never taken from a response. After a
	// rotation of the log key, LogKey stays the first key: the pages learn the later ones from the
	// history GET /log-keys serves, which they verify from it.
	LogKey      string
	WitnessKeys []string
	Quorum      int
	// IssuerKey is the certificates' credential key (a Multikey, "z6Mk…"), which the certificate
	// verification page pins; empty: the page takes the key the issuer's DID document names (the
	// issue entry on the witnessed ledger still binds the certificate's content).
	IssuerKey string
	// IssuerKeys, if set, are every credential key the page accepts (Multikeys): the current one
	// and those it replaced (a key rotation), so that certificates issued before still verify. The
	// page picks the key the DID document names for the proof's verification method and requires
	// it to be one of these (or IssuerKey).
	IssuerKeys []string
	// Demo says the hub runs as govhub demo: the portal then offers to choose a demo citizen
	// (the hub's demo-only token endpoint, DemoCitizenTokenPath).
	Demo bool
}

// DemoCitizenTokenPath is the demo-only endpoint the portal asks for a short-lived citizen token:
// POST {"citizen": "C000001"} → {"token": "…", "expires": "RFC 3339"}. Only govhub demo serves it.
const DemoCitizenTokenPath = "/demo/citizen-token"

// Trust is what the portal's page is told to trust, as the JSON in its
// <script type="application/json" id="govhub-config"> block (data, never executed).
type Trust struct {
	LogKey      string   `json:"logKey"`
	WitnessKeys []string `json:"witnessKeys"`
	Quorum      int      `json:"quorum"`
	IssuerKey   string   `json:"issuerKey,omitempty"`
	IssuerKeys  []string `json:"issuerKeys,omitempty"`
	Demo        bool     `json:"demo"`
	// DemoTokenPath is DemoCitizenTokenPath under the demo, empty otherwise.
	DemoTokenPath string `json:"demoTokenPath,omitempty"`
}

// configJSON renders cfg's trusted keys for a page. encoding/json escapes <, > and &, so the text
// cannot end the <script> element it sits in.
func configJSON(cfg Config) string {
	tr := Trust{LogKey: cfg.LogKey, WitnessKeys: cfg.WitnessKeys, Quorum: cfg.Quorum, IssuerKey: cfg.IssuerKey, IssuerKeys: cfg.IssuerKeys, Demo: cfg.Demo}
	if tr.WitnessKeys == nil {
		tr.WitnessKeys = []string{}
	}
	if cfg.Demo {
		tr.DemoTokenPath = DemoCitizenTokenPath
	}
	b, err := json.Marshal(tr)
	if err != nil {
		panic("web: encoding the page configuration: " + err.Error()) // cannot happen: strings and ints
	}
	return string(b)
}

// Handler serves, on GET and HEAD:
//
//	/console    the officers' console (HTML)
//	/portal     the citizens' portal (HTML, with cfg's trusted keys)
//	/verify/ID  the public certificate verification page (HTML, with cfg's trusted keys), for
//	            an ID of letters, digits and dashes; its data is /verify/ID.json, which the hub
//	            serves elsewhere (mount this handler on the page's path only)
//	/static/…   the embedded scripts, styles and other assets (not the HTML pages)
//
// Mount it on those patterns; any other path is 404. Every response carries
// ContentSecurityPolicy, X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. The
// files are revalidated on every use (Cache-Control: no-cache) against a strong ETag, the
// SHA-256 of their content, so a new binary's files are picked up at once and unchanged ones cost
// a 304. The pages are never stored (they may be displayed to someone signed in).
func Handler(cfg Config) http.Handler {
	if cfg.GraphQLPath == "" {
		cfg.GraphQLPath = DefaultGraphQLPath
	}
	h := &handler{assets: map[string]asset{}, pages: map[string]asset{}}
	conf := configJSON(cfg)
	err := fs.WalkDir(Static(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static(), name)
		if err != nil {
			return err
		}
		if path.Ext(name) == ".html" {
			b = []byte(strings.NewReplacer("{{graphql}}", template.HTMLEscapeString(cfg.GraphQLPath), "{{config}}", conf).Replace(string(b)))
			h.pages["/"+strings.TrimSuffix(name, ".html")] = newAsset(name, b)
			return nil
		}
		h.assets["/static/"+name] = newAsset(name, b)
		return nil
	})
	if err != nil {
		panic("web: reading the embedded files: " + err.Error()) // cannot happen: they are in the binary
	}
	return h
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(name string, b []byte) asset {
	sum := sha256.Sum256(b)
	return asset{body: b, contentType: contentType(name), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// contentType names the types of the files we ship, rather than relying on the system's MIME
// table (a module script served with another type is refused under nosniff).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".wasm":
		return "application/wasm"
	}
	return "application/octet-stream"
}

// VerifyPathPrefix is where certificate verification pages are: VerifyPathPrefix + id.
const VerifyPathPrefix = "/verify/"

// validCertificateID reports whether id may name a certificate page: 1 to 64 letters, digits and
// dashes (no dot: /verify/ID.json is the data, not the page).
func validCertificateID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

type handler struct {
	assets map[string]asset // by URL path
	pages  map[string]asset // by URL path: /console, /portal
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, VerifyPathPrefix); ok && validCertificateID(id) {
		hd.Set("Content-Security-Policy", VerifyPageContentSecurityPolicy)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		serve(w, r, h.pages["/certificate"])
		return
	}
	if a, ok := h.pages[r.URL.Path]; ok {
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		serve(w, r, a)
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	serve(w, r, a)
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Content-Length", fmt.Sprint(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.body)
}
