package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
)

type wireError struct {
	Message    string
	Extensions map[string]any
}

// decodeErrors reads a GraphQL-shaped error response.
func decodeErrors(t *testing.T, w *httptest.ResponseRecorder) []wireError {
	t.Helper()
	var r struct{ Errors []wireError }
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("response %d %q is not GraphQL-shaped JSON: %v", w.Code, w.Body.String(), err)
	}
	return r.Errors
}

// TestRequestLimits: what reaches the transports is bounded and well-formed; every refusal is a
// GraphQL-shaped error with the right status and a short message that never echoes the request.
func TestRequestLimits(t *testing.T) {
	handler := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{})
	p := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1", Expires: time.Now().Add(time.Hour)}
	me := `{ me { subject } }`
	secret := "SECRET-PAYLOAD-" + strings.Repeat("x", 40)
	big := `{"query":"{ me { subject } }","variables":{"pad":"` + secret + strings.Repeat("a", graph.DefaultMaxBodyBytes) + `"}}`
	tests := []struct {
		name        string
		contentType string
		body        string
		chunked     bool // no Content-Length: the limit is found while reading
		status      int
		code        string
		field       string
	}{
		{"over 1 MiB", "application/json", big, false, http.StatusRequestEntityTooLarge, graph.CodeRequestTooLarge, ""},
		{"over 1 MiB, chunked", "application/json", big, true, http.StatusRequestEntityTooLarge, graph.CodeRequestTooLarge, ""},
		{"batch", "application/json", `[{"query":"{ me { subject } }"},{"query":"` + secret + `"}]`, false, http.StatusBadRequest, graph.CodeBadUserInput, ""},
		{"batch after spaces", "application/json", " \n[{\"query\":\"" + secret + "\"}]", false, http.StatusBadRequest, graph.CodeBadUserInput, ""},
		{"not JSON", "application/json", `{"query": "` + secret, false, http.StatusBadRequest, graph.CodeBadUserInput, ""},
		{"query not a string", "application/json", `{"query": ["` + secret + `"]}`, false, http.StatusBadRequest, graph.CodeBadUserInput, "query"},
		{"variables not an object", "application/json", `{"query": "{ me { subject } }", "variables": "` + secret + `"}`, false, http.StatusBadRequest, graph.CodeBadUserInput, "variables"},
		{"bad UTF-8 in the query", "application/json", "{\"query\": \"{ me { subject } } # \xff\"}", false, http.StatusBadRequest, graph.CodeBadUserInput, "query"},
		{"bad UTF-8 in a variable", "application/json", "{\"query\": \"{ me { subject } }\", \"variables\": {\"input\": {\"name\": \"Li \xc3\x28\"}}}", false, http.StatusBadRequest, graph.CodeBadUserInput, "variables.input.name"},
		{"bad UTF-8 in a list", "application/json", "{\"query\": \"{ me { subject } }\", \"variables\": {\"ids\": [\"a\", \"\xed\xa0\x80\"]}}", false, http.StatusBadRequest, graph.CodeBadUserInput, "variables.ids[1]"},
		{"bad UTF-8, other media type", "text/plain", "\xff", false, http.StatusBadRequest, graph.CodeBadUserInput, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length from httptest.NewRequest
			}
			req := httptest.NewRequest(http.MethodPost, "/graphql", body)
			req.Header.Set("Content-Type", tt.contentType)
			req = req.WithContext(auth.NewContext(req.Context(), p))
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d (body %.200q)", w.Code, tt.status, w.Body.String())
			}
			if strings.Contains(w.Body.String(), "SECRET-PAYLOAD") {
				t.Errorf("the response echoes the request: %.300q", w.Body.String())
			}
			if w.Body.Len() > 512 {
				t.Errorf("the response is %d bytes, want a short error", w.Body.Len())
			}
			errs := decodeErrors(t, w)
			if len(errs) != 1 || errs[0].Extensions["code"] != tt.code {
				t.Fatalf("errors %+v, want one %s", errs, tt.code)
			}
			if tt.field != "" && errs[0].Extensions["field"] != tt.field {
				t.Errorf("extensions.field = %v, want %s", errs[0].Extensions["field"], tt.field)
			}
		})
	}

	t.Run("GET with bad UTF-8", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/graphql?query=%7B+me+%7B+subject+%7D+%7D&variables=%7B%22n%22%3A%22%FF%22%7D", nil)
		req = req.WithContext(auth.NewContext(req.Context(), p))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		errs := decodeErrors(t, w)
		if w.Code != http.StatusBadRequest || len(errs) != 1 || errs[0].Extensions["field"] != "variables.n" {
			t.Errorf("GET with %%FF in a variable = %d %+v, want 400 naming variables.n", w.Code, errs)
		}
	})

	t.Run("within the limits", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"query": me, "variables": map[string]any{"pad": strings.Repeat("é", 1000)}})
		w := postBody(handler, p, "application/json", body)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"auditor-1"`)) {
			t.Errorf("a good request = %d %s", w.Code, w.Body)
		}
	})

	t.Run("configured limit", func(t *testing.T) {
		small := graph.NewHandler(&graph.Resolver{}, graph.HandlerConfig{MaxBodyBytes: 64})
		body, _ := json.Marshal(map[string]any{"query": me, "variables": map[string]any{"pad": strings.Repeat("a", 64)}})
		if w := postBody(small, p, "application/json", body); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("a body over a 64-byte limit = %d %s, want 413", w.Code, w.Body)
		}
	})
}
