package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/web"
)

// Certificates on the hub (hub.Certificates): the credential key (keys/credential.key, mode 0600,
// not the token issuer's), the issuer's did:web DID derived from the public URL, and the public
// routes:
//
//	GET /.well-known/did.json          the issuer's DID document (the credential key as a Multikey)
//	GET /verify/<id>.json              the verification document (certificate.Verification), counted
//	GET /verify/<id>/status.json       the signed status file (certificate.StatusFile), not counted
//	GET /verify/<id>.png               a QR code of the page's public URL (--public-url + /verify/<id>)
//
// GET /verify/<id> (no suffix) is the browser page (web.Handler, with the credential key pinned).

// defaultPublicURL is the hub's public URL when --public-url is not given.
const defaultPublicURL = "http://" + defaultAddr

// didWeb returns the did:web DID of a public URL: "did:web:" and the host (its port's colon
// percent-encoded), then the path's segments joined by colons.
func didWeb(public string) (string, error) {
	u, err := url.Parse(public)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("the public URL %q has no host", public)
	}
	did := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg != "" {
			did += ":" + seg
		}
	}
	return did, nil
}

// openCertificates builds the certificates capability.
func (a *app) openCertificates() error {
	key, _, err := keys.Ed25519(a.cfg.path("keys", "credential.key"))
	if err != nil {
		return fmt.Errorf("the credential key: %w", err)
	}
	previous, err := readPreviousCredentialKeys(a.cfg.path("keys")) // rotate_files.go
	if err != nil {
		return fmt.Errorf("the previous credential keys: %w", err)
	}
	a.credentialKey = credential.Multikey(key.Public().(ed25519.PublicKey))
	public := a.cfg.PublicURL
	if public == "" {
		public = defaultPublicURL
	}
	did, err := didWeb(public)
	if err != nil {
		return err
	}
	if a.fileKeys.credential, err = hub.NewCredentialKeys(did, key, previous...); err != nil {
		return fmt.Errorf("the credential keys: %w", err)
	}
	var wkeys []string
	for _, w := range a.cfg.Witnesses {
		wkeys = append(wkeys, w.VerifierKey)
	}
	st := a.storage.store
	a.verifyCounts = hub.NewVerificationCounter(st)
	a.certificates, err = hub.NewCertificates(hub.CertificatesConfig{Reader: a.reader, Store: st, Applications: st, Keys: a.fileKeys.credential, DID: did,
		BaseURL: public, Published: a.log, Proofs: a.log.Reader(), LogKey: a.keys.log.VerifierKey, WitnessKeys: wkeys, Quorum: a.witnessQuorum,
		Counter: a.verifyCounts})
	return err
}

// certificateRoutes registers the public certificate routes on mux.
func (a *app) certificateRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/did.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/did+json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(a.certificates.DIDDocument())
	})
	mux.HandleFunc("GET /verify/{file}", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutSuffix(r.PathValue("file"), ".png"); ok {
			a.serveCertificateQR(w, r, id)
			return
		}
		id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
		if !ok {
			if a.verifyPage != nil {
				a.verifyPage.ServeHTTP(w, r)
				return
			}
			http.NotFound(w, r)
			return
		}
		a.serveCertificateJSON(w, r, func(ctx context.Context) ([]byte, error) { return a.certificates.Verify(ctx, id) })
	})
	mux.HandleFunc("GET /verify/{id}/status.json", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		a.serveCertificateJSON(w, r, func(ctx context.Context) ([]byte, error) { return a.certificates.Status(ctx, id) })
	})
}

// serveCertificateJSON writes what get returns, or a plain error: 404 for an unknown or disabled
// certificate, 503 while its issue entry waits for a published checkpoint, 500 otherwise (logged).
func (a *app) serveCertificateJSON(w http.ResponseWriter, r *http.Request, get func(context.Context) ([]byte, error)) {
	body, err := get(r.Context())
	switch {
	case errors.Is(err, hub.ErrNoCertificate):
		http.Error(w, "no such certificate", http.StatusNotFound)
		return
	case errors.Is(err, hub.ErrNotPublished):
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the certificate's issuance is not yet under a published checkpoint; retry in a second", http.StatusServiceUnavailable)
		return
	case err != nil:
		a.cfg.Logger.ErrorContext(r.Context(), "certificate verification failed", slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(body)
}

// certificatePreview is the officers' preview of a certificate type change (governance
// CertificatePreview), computed by the hub.
func (a *app) certificatePreview(ctx context.Context, p auth.Principal, before, after []policy.CertificateType) ([]governance.CertificateImpact, error) {
	imp, err := a.certificates.PreviewTypes(ctx, p, before, after, hub.DefaultPreviewCitizens)
	if err != nil {
		return nil, err
	}
	out := make([]governance.CertificateImpact, len(imp))
	for i, x := range imp {
		out[i] = governance.CertificateImpact{Type: x.Type, Citizens: x.Citizens, Truncated: x.Truncated, Eligible: x.Eligible, Ineligible: x.Ineligible}
	}
	return out, nil
}

// serveCertificateQR writes a QR code (PNG) of the public verification link of certificate id:
// the hub's public URL (--public-url, never the request's Host header), /verify/ and the id. It
// says nothing about whether the certificate exists: the page it points to does.
func (a *app) serveCertificateQR(w http.ResponseWriter, r *http.Request, id string) {
	if !certificate.IsID(id) {
		http.NotFound(w, r)
		return
	}
	public := a.cfg.PublicURL
	if public == "" {
		public = defaultPublicURL
	}
	png, err := web.QRCodePNG(strings.TrimRight(public, "/") + web.VerifyPathPrefix + id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(png)
}
