package web

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The embedded GraphiQL files are byte for byte the ones whose integrity hashes the page carries.
func TestGraphiQLAssets(t *testing.T) {
	h := GraphiQLAssets()
	for name, sri := range map[string]string{GraphiQLJS: GraphiQLJSSRI, GraphiQLCSS: GraphiQLCSSSRI, ReactJS: ReactJSSRI,
		ReactDOMJS: ReactDOMJSSRI, ExplorerJS: ExplorerJSSRI, ExplorerCSS: ExplorerCSSSRI} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, GraphiQLAssetsPath+name, nil))
		body, _ := io.ReadAll(rec.Body)
		sum := sha256.Sum256(body)
		if rec.Code != http.StatusOK || "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != sri {
			t.Errorf("%s: %d, %d bytes, not the file of hash %s", name, rec.Code, len(body), sri)
		}
	}
}
