package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestGeneratedFileIsCurrent scans the page scripts in the tree and compares the result, byte for
// byte, with the committed web/operations_gen.go: run go generate ./... after editing a query.
func TestGeneratedFileIsCurrent(t *testing.T) {
	want, err := generate(os.DirFS("../../../web/static"))
	if err != nil {
		t.Fatalf("generate(web/static) = %v", err)
	}
	got, err := os.ReadFile("../../../web/operations_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("web/operations_gen.go is stale: run go generate ./...")
	}
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
		err       string
	}{
		{name: "literals", src: "const a = await gql('{ me { kind } }');\nrequest(\"{ b }\", {}, opts);",
			want: []string{"{ me { kind } }", "{ b }"}},
		{name: "template with constants", src: "const F = 'x y';\nconst G = `{ ${F} }`;\ngql(`query { a ${G} }`, v);",
			want: []string{"query { a { x y } }"}},
		{name: "constant argument", src: "const RECORDS = `{ r }`;\nconst d = await gql(RECORDS);", want: []string{"{ r }"}},
		{name: "subscription payload", src: "send({ payload: { query: `subscription { s }` } });", want: []string{"subscription { s }"}},
		{name: "wrappers and comments skipped", src: "// gql('{ not sent }')\nconst gql = (q, vars) => request(q, vars);\nexport async function request(query, v) {}\n/* request('{ no }') */",
			want: nil},
		{name: "regex with a quote", src: "const re = /['`]/g;\ngql('{ a }');", want: []string{"{ a }"}},
		{name: "escapes", src: `gql('{ a(s: \"x\") }');`, want: []string{`{ a(s: "x") }`}},
		{name: "computed text", src: "gql('{ a ' + f + ' }');", err: "not a constant text"},
		{name: "interpolated variable", src: "gql(`{ a ${field} }`);", err: "UPPER_CASE"},
		{name: "unknown constant", src: "gql(QUERY);", err: "QUERY is not a constant"},
		{name: "not GraphQL", src: "gql('{ a ');", err: "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scan(tc.src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("scan(%q) = %q, %v, want an error containing %q", tc.src, got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("scan(%q) = %q, %v, want %q", tc.src, got, err, tc.want)
			}
		})
	}
}

func TestGenerateNeedsDocuments(t *testing.T) {
	if _, err := generate(fstest.MapFS{"a.js": {Data: []byte("const x = 1;")}}); err == nil {
		t.Error("generate(no documents) = nil error, want one")
	}
}
