package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/govhub/govhub/demo"
)

// Rough numbers only (the machine is shared): issuance end to end through GraphQL (received,
// gathered with a Bulletproofs proof, decided, issued: six ledger entries and a signature), and
// the public verification document (a receipt, a count, a signed status).
//
//	go test ./cmd/govhub -run '^$' -bench 'Certificate' -benchtime 20x

func BenchmarkCertificateIssue(b *testing.B) {
	h := benchHub(b)
	tok := h.token(housingClerk)
	b.ResetTimer()
	for i := range b.N {
		id := demo.CitizenID(1 + i%benchN)
		r := h.query(tok, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": id})
		if len(r.Errors) > 0 {
			b.Fatal(r.Errors)
		}
	}
}

func BenchmarkCertificateVerifyJSON(b *testing.B) {
	h := benchHub(b)
	r := h.query(h.token(policeClerk), certDoc, map[string]any{"type": "identity-proof", "citizen": demo.CitizenID(1)})
	if len(r.Errors) > 0 {
		b.Fatal(r.Errors)
	}
	id := r.Data["requestCertificate"].(map[string]any)["certificate"].(map[string]any)["id"].(string)
	path := "/verify/" + id + ".json"
	if code, body := h.getJSON(path); code != http.StatusOK {
		b.Fatalf("GET %s = %d %s", path, code, body)
	}
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("GET = %d", w.Code)
		}
	}
}
