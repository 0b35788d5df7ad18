package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const (
	// queryCacheSize is how many query texts the handler keeps parsed and validated.
	queryCacheSize = 256
	// maxCachedQuery is the longest query text kept, in bytes: with queryCacheSize it bounds the
	// cache's memory whatever clients send (a department system's queries are a few hundred bytes).
	maxCachedQuery = 16 << 10
)

// queryCache keeps the parsed and validated form of recent query texts (an LRU, as gqlgen's default server keeps), so that a
// client sending the same text with other variables, as a department system reading citizen after
// citizen does, is not parsed and validated again: about 4 % of a logged read's CPU. Validation
// depends only on the schema and the fixed rules (NewHandler), never on the request, its
// variables or its principal; gqlgen adds a document only once it is valid, and the complexity
// limit, the trusted documents and the deadline still run for every request. Texts longer than
// maxCachedQuery are parsed every time and not kept.
type queryCache struct {
	lru *lru.Cache[string, *ast.QueryDocument]
}

var _ graphql.Cache[*ast.QueryDocument] = queryCache{}

func newQueryCache() queryCache {
	c, err := lru.New[string, *ast.QueryDocument](queryCacheSize)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return queryCache{lru: c}
}

// Get implements graphql.Cache.
func (c queryCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	return c.lru.Get(query)
}

// Add implements graphql.Cache.
func (c queryCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	if len(query) <= maxCachedQuery {
		c.lru.Add(query, doc)
	}
}
