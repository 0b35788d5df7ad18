// Command pageops lists the GraphQL documents that GovHub's pages send, so that a hub restricted
// to trusted documents (graph.TrustedDocuments) runs them: it reads the page scripts
// (web/static/*.js) and writes package web's operations_gen.go, whose Operations returns the exact
// text of every document, as the browser sends it.
//
// A document is the first argument of a call to gql(…) or request(…), or the string value of a
// "query:" property (the portal's websocket subscription). That argument must be a string or
// template literal, or an UPPER_CASE constant declared in the same script as one; a template's
// ${…} may only name such constants, and each is replaced by its value, as the browser does. A
// lower-case identifier is taken for a forwarded parameter (the scripts' gql wrappers) and skipped.
// Anything else (a concatenation, a computed text) is an error: a page must not send a document
// that cannot be registered ahead of time. Every document found must parse as GraphQL.
//
// It runs from go generate in package graph:
//
//	go run ../internal/cmd/pageops -static ../web/static -out ../web/operations_gen.go
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	static := flag.String("static", "web/static", "the directory of the page scripts")
	out := flag.String("out", "web/operations_gen.go", "where to write package web's operations")
	flag.Parse()
	src, err := generate(os.DirFS(*static))
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pageops:", err)
		os.Exit(1)
	}
}
