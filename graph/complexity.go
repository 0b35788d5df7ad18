package graph

import (
	"context"
	"encoding/json"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// DefaultListEstimate is how many items a list field without a page size is assumed to hold when a
// query's complexity is computed (a citizen's properties or business licences, the policy rules).
const DefaultListEstimate = 10

// listComplexity makes a query's complexity grow with the sizes of the lists it asks for. gqlgen
// counts every field once: 1, plus the complexity of its selection. Here a field that returns a page
// of a connection (an Int argument "first", as citizens and myAccesses take) counts
//
//	1 + first × (the complexity of its selection)
//
// and a field that returns a list of objects without a page size counts 1 + DefaultListEstimate ×
// (the complexity of its selection), except the lists of a page's own type (its edges, already
// counted by the page size); scalar lists and every other field count as gqlgen counts them.
// So
//
//	{ citizens(purpose: "p", first: 100) { edges { node { id identity { name } } } } }
//
// costs 1 + 100 × 5 = 501: for each item edges 1, node 1, id 1, identity 1 and name 1. The page size is the one asked for (its default when left out, at least 1);
// a page size the resolver will refuse (over 100) is counted as asked, so the query is refused
// here first. The rule is read from the schema, so a new list field is covered without a line
// here; a ComplexityRoot function, where one is set, still wins.
type listComplexity struct {
	graphql.ExecutableSchema
	pages map[string]bool // the types of the fields that take a page size (CitizenConnection, …)
}

// newListComplexity wraps es, whose schema it reads once.
func newListComplexity(es graphql.ExecutableSchema) listComplexity {
	s := listComplexity{ExecutableSchema: es, pages: map[string]bool{}}
	for _, d := range es.Schema().Types {
		for _, f := range d.Fields {
			if isPaged(f) {
				s.pages[f.Type.Name()] = true
			}
		}
	}
	return s
}

// isPaged reports whether f takes a page size: an Int argument named pageArgument.
func isPaged(f *ast.FieldDefinition) bool {
	a := f.Arguments.ForName(pageArgument)
	return a != nil && a.Type.Name() == "Int" && a.Type.Elem == nil
}

// proofComplexity is what a proof(predicate: …) counts for, besides its selection: a granted
// predicate that holds costs the hub a range proof (about 20 ms of CPU, crypto/rangeproof), so
// that under DefaultMaxComplexity a query asks for at most about a hundred.
const proofComplexity = 40

// pageArgument is the argument that sets a connection's page size.
const pageArgument = "first"

// Complexity implements graphql.ExecutableSchema.
func (s listComplexity) Complexity(ctx context.Context, typeName, field string, childComplexity int, args map[string]any) (int, bool) {
	if c, ok := s.ExecutableSchema.Complexity(ctx, typeName, field, childComplexity, args); ok {
		return c, true
	}
	if typeName == "SealedInt" && field == "proof" {
		return proofComplexity + childComplexity, true
	}
	def := s.Schema().Types[typeName]
	if def == nil {
		return 0, false
	}
	f := def.Fields.ForName(field)
	if f == nil {
		return 0, false
	}
	if isPaged(f) {
		return times(pageSize(args[pageArgument]), childComplexity), true
	}
	if f.Type.Elem != nil && !s.pages[typeName] && s.isComposite(f.Type) {
		return times(DefaultListEstimate, childComplexity), true
	}
	return 0, false
}

// isComposite reports whether the named type under t's list and non-null wrappers is an object,
// interface or union.
func (s listComplexity) isComposite(t *ast.Type) bool {
	for t.Elem != nil {
		t = t.Elem
	}
	d := s.Schema().Types[t.NamedType]
	return d != nil && (d.Kind == ast.Object || d.Kind == ast.Interface || d.Kind == ast.Union)
}

// pageSize reads a page size argument: at least 1, at most math.MaxInt32.
func pageSize(v any) int {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case json.Number:
		n, _ = v.Int64()
	case float64:
		n = int64(min(v, math.MaxInt32))
	}
	return int(max(1, min(n, math.MaxInt32)))
}

// times returns 1 + n×child, saturating at math.MaxInt32 rather than overflowing.
func times(n, child int) int {
	if child > 0 && n > (math.MaxInt32-1)/child {
		return math.MaxInt32
	}
	return 1 + n*child
}
