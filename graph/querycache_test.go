package graph

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

func TestQueryCacheKeepsOnlyShortTexts(t *testing.T) {
	c := newQueryCache()
	ctx := t.Context()
	short, long := "query { purposes { code } }", "query { purposes { code } }"+strings.Repeat(" ", maxCachedQuery)
	c.Add(ctx, short, &ast.QueryDocument{})
	c.Add(ctx, long, &ast.QueryDocument{})
	if _, ok := c.Get(ctx, short); !ok {
		t.Error("a short query text was not kept")
	}
	if _, ok := c.Get(ctx, long); ok {
		t.Errorf("a query text of %d bytes was kept (limit %d)", len(long), maxCachedQuery)
	}
	for i := range 2 * queryCacheSize {
		c.Add(ctx, "query q"+strings.Repeat("x", i)+" { purposes { code } }", &ast.QueryDocument{})
	}
	if n := c.lru.Len(); n > queryCacheSize {
		t.Errorf("the cache holds %d documents, want at most %d", n, queryCacheSize)
	}
}
