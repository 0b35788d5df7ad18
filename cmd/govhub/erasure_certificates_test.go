package main

import (
	"bytes"
	"net/http"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/ledger"
)

// An erased citizen's certificates are revoked (reason erased, on the ledger), their links turned
// off, and nothing of them stays in the store: no application naming the citizen, no credential.
func TestErasureRevokesCertificates(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	var qualifies demoFacts
	for i := 1; i <= n && qualifies.id == ""; i++ {
		if f := factsOf(h.gen, i, n); f.spouseIn && f.months >= 60 && f.homes < 2 {
			qualifies = f
		}
	}
	if qualifies.id == "" {
		t.Fatalf("no qualifying demo citizen among %d", n)
	}
	r := h.query(h.token(housingClerk), certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate: %+v", r.Errors)
	}
	id := get(r.Data, "requestCertificate", "certificate", "id").(string)
	if code, _ := h.getJSON("/verify/" + id + ".json"); code != http.StatusOK {
		t.Fatalf("before the erasure: GET /verify/%s.json = %d", id, code)
	}
	h.erase(qualifies.id)

	for _, path := range []string{"/verify/" + id + ".json", "/verify/" + id + "/status.json"} {
		if code, _ := h.getJSON(path); code != http.StatusNotFound {
			t.Errorf("after the erasure: GET %s = %d, want 404", path, code)
		}
	}
	entries, _ := h.entries()
	revoked := false
	for _, e := range entries {
		if e.Kind == ledger.KindRevoke && e.Certificate == id && e.Reason == "erased" {
			revoked = true
		}
	}
	if !revoked {
		t.Error("no revoke entry (reason erased) for the erased citizen's certificate")
	}
	for _, coll := range []string{"certificates", "applications"} {
		cur, err := h.collection(coll).Find(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(t.Context(), &docs); err != nil {
			t.Fatal(err)
		}
		if coll == "certificates" && len(docs) == 0 {
			t.Fatal("the certificate's document is gone: its revocation must stay")
		}
		for _, d := range docs {
			if bytes.Contains(d, []byte(qualifies.id)) || bytes.Contains(d, []byte(`"eligible"`)) {
				t.Errorf("after the erasure, %s holds the citizen or their claims: %s", coll, d)
			}
		}
	}
}
