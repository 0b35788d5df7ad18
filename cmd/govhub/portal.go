package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/web"
)

// demoCitizenTokenTTL is the lifetime of a token from the demo's "choose a demo citizen" sign-in.
const demoCitizenTokenTTL = 15 * time.Minute

var demoCitizenID = regexp.MustCompile(`^C[0-9]{6}$`)

// pagesConfig is what the portal and console pages are told at start-up: the GraphQL path, the
// keys the portal verifies with (the log's note verifier key, the configured witnesses' keys and
// the quorum the ledger publishes at), and whether this is the demo.
func (a *app) pagesConfig() web.Config {
	c := web.Config{GraphQLPath: "/graphql", LogKey: a.keys.log.VerifierKey, Quorum: a.witnessQuorum, Demo: a.demo,
		IssuerKey: a.credentialKey}
	if ks := a.fileKeys.credential; ks != nil {
		// Every credential key, the current one first: certificates from before a rotation verify.
		c.IssuerKeys = nil
		for i, k := range ks.Public() {
			if i == 0 {
				c.IssuerKey = credential.Multikey(k)
			}
			c.IssuerKeys = append(c.IssuerKeys, credential.Multikey(k))
		}
	}
	for _, w := range a.cfg.Witnesses {
		c.WitnessKeys = append(c.WitnessKeys, w.VerifierKey)
	}
	return c
}

// demoCitizenToken serves web.DemoCitizenTokenPath, under govhub demo only (govhub serve does not
// mount it): POST {"citizen": "C000001"} gives a citizen token for that demo citizen, valid for
// demoCitizenTokenTTL, as {"token": "…", "expires": "<RFC 3339>"}. Anyone who can reach the demo
// can sign in as any of its synthetic citizens; that is what the demo is for.
func (a *app) demoCitizenToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	var req struct {
		Citizen string `json:"citizen"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !demoCitizenID.MatchString(req.Citizen) {
		fail(http.StatusBadRequest, `want {"citizen": "C000001"}: C and six digits`)
		return
	}
	ok, err := a.storage.store.CitizenExists(r.Context(), req.Citizen)
	if err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "demo citizen token", "error", err.Error())
		fail(http.StatusServiceUnavailable, "the store could not be read")
		return
	}
	if !ok {
		fail(http.StatusNotFound, "no demo citizen "+req.Citizen)
		return
	}
	expires := time.Now().Add(demoCitizenTokenTTL)
	tok, err := a.issuer.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: req.Citizen}, demoCitizenTokenTTL)
	if err != nil {
		fail(http.StatusInternalServerError, "the token could not be issued")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"token": tok, "expires": expires.UTC().Format(time.RFC3339)})
}
