package graph

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// typeName is the GraphQL object type of a dataset ("socialInsurance" → "SocialInsurance").
func typeName(ds string) string { return strings.ToUpper(ds[:1]) + ds[1:] }

// sealedType is the GraphQL type of a sensitive field of the given kind.
func sealedType(k dataset.Kind) string {
	switch k {
	case dataset.Int:
		return "SealedInt"
	case dataset.Date:
		return "SealedDate"
	}
	return "SealedString"
}

// requestedFields walks the selection under the citizen field and returns, for every dataset
// field selected, which parts of it (value, commitment) were selected. Fragments count.
func requestedFields(ctx context.Context) map[string]hub.Want {
	return citizenFields(graphql.GetOperationContext(ctx), graphql.CollectFieldsCtx(ctx, []string{"Citizen"}))
}

// requestedListFields does the same for the citizens connection: edges { node { … } }.
func requestedListFields(ctx context.Context) map[string]hub.Want {
	op := graphql.GetOperationContext(ctx)
	var nodes []graphql.CollectedField
	for _, e := range graphql.CollectFieldsCtx(ctx, []string{"CitizenConnection"}) {
		if e.Name != "edges" {
			continue
		}
		for _, n := range graphql.CollectFields(op, e.Selections, []string{"CitizenEdge"}) {
			if n.Name == "node" {
				nodes = append(nodes, graphql.CollectFields(op, n.Selections, []string{"Citizen"})...)
			}
		}
	}
	return citizenFields(op, nodes)
}

// citizenFields walks the dataset fields selected on a Citizen. A proof(predicate: …) selected on a
// sensitive integer or date asks that predicate: hub.ProofKey(field, predicate), decided by the hub.
func citizenFields(op *graphql.OperationContext, selected []graphql.CollectedField) map[string]hub.Want {
	out := map[string]hub.Want{}
	for _, dsField := range selected {
		ds, ok := dataset.Lookup(dsField.Name)
		if !ok {
			continue // id, __typename
		}
		for _, f := range graphql.CollectFields(op, dsField.Selections, []string{typeName(ds.Name)}) {
			df, ok := ds.Field(f.Name)
			if !ok {
				continue
			}
			if !df.Sensitive {
				out[df.Path()] |= hub.WantValue
				continue
			}
			for _, part := range graphql.CollectFields(op, f.Selections, []string{sealedType(df.Kind)}) {
				switch part.Name {
				case "value":
					out[df.Path()] |= hub.WantValue
				case "commitment":
					out[df.Path()] |= hub.WantCommitment
				case "proof":
					if pred, ok := part.ArgumentMap(op.Variables)["predicate"].(string); ok {
						out[hub.ProofKey(df.Path(), pred)] = 0
					}
				}
			}
			if _, ok := out[df.Path()]; !ok {
				out[df.Path()] = 0 // only __typename: asked, carries nothing
			}
		}
	}
	return out
}

// requestBytes is what the ledger's request digest covers: the operation's text, name and variables.
func requestBytes(ctx context.Context) []byte {
	op := graphql.GetOperationContext(ctx)
	b, err := json.Marshal(struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName,omitempty"`
		Variables     map[string]any `json:"variables,omitempty"`
	}{op.RawQuery, op.OperationName, op.Variables})
	if err != nil {
		return []byte(op.RawQuery)
	}
	return b
}

// The helpers of catalog_gen.go, which internal/cmd/catalogen generates from schema.graphql: it
// calls them field by field, with the field's name, so nothing here looks a field up at run time.

// newCitizen starts the model of a released citizen, and returns the datasets the caller asked for.
func newCitizen(v *hub.CitizenView) (*model.Citizen, map[string]bool) {
	asked := map[string]bool{}
	for f := range v.Levels {
		ds, _, _ := strings.Cut(f, ".")
		asked[ds] = true
	}
	return &model.Citizen{ID: v.ID, Visibility: model.Visibility{Denied: map[string]bool{}}}, asked
}

// released returns the items released of dataset ds, if the caller asked for it and the citizen has
// a record; a denied dataset is marked on c.
func released(c *model.Citizen, v *hub.CitizenView, asked map[string]bool, ds string) ([]map[string]hub.FieldValue, bool) {
	if !asked[ds] {
		return nil, false
	}
	if v.DatasetDenied(ds) {
		c.Denied[ds] = true
		return nil, false
	}
	dv, ok := v.Datasets[ds]
	if !ok {
		return nil, false // no record
	}
	return dv.Items, true
}

// first is the item of a dataset that is not a list: nil (marks, no values) when the record has none.
func first(items []map[string]hub.FieldValue) map[string]hub.FieldValue {
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

func newVisibility() model.Visibility {
	return model.Visibility{Denied: map[string]bool{}, Revealed: map[string]bool{}}
}

// release marks the field name of one object for the field middleware and @sensitive from its
// level at path ("dataset.field"), and returns its released value if the caller asked for it, may
// see it and the item holds it. A field not asked for is left unmarked.
func release(a *model.Visibility, levels map[string]policy.Level, item map[string]hub.FieldValue, path, name string) (hub.FieldValue, bool) {
	level, asked := levels[path]
	if !asked {
		return hub.FieldValue{}, false
	}
	switch level {
	case policy.Deny:
		a.Denied[name] = true
		return hub.FieldValue{}, false
	case policy.Reveal:
		a.Revealed[name] = true
	}
	fv, ok := item[name]
	return fv, ok
}

// plain is a released plain value of Go type T (package dataset's conventions), nil when absent.
func plain[T any](fv hub.FieldValue, path string) (*T, error) {
	if fv.Value == nil {
		return nil, nil
	}
	v, ok := fv.Value.(T)
	if !ok {
		var want T
		return nil, fmt.Errorf("graph: %s: released a %T, want a %T", path, fv.Value, want)
	}
	return &v, nil
}

// plainInt is a released Int field: package dataset holds integers as int64, GraphQL's Int is an int.
func plainInt(fv hub.FieldValue, path string) (*int, error) {
	v, err := plain[int64](fv, path)
	if v == nil || err != nil {
		return nil, err
	}
	n := int(*v)
	return &n, nil
}

// plainList is a released [String!] field.
func plainList(fv hub.FieldValue, path string) ([]string, error) {
	v, err := plain[[]string](fv, path)
	if v == nil || err != nil {
		return nil, err
	}
	return *v, nil
}

func sealedString(fv hub.FieldValue, path string) (*model.SealedString, error) {
	v, err := plain[string](fv, path)
	return &model.SealedString{Value: v, Commitment: commitmentModel(fv.Commitment)}, err
}

func sealedInt(fv hub.FieldValue, path string) (*model.SealedInt, error) {
	v, err := plain[int64](fv, path)
	return &model.SealedInt{Value: v, Commitment: commitmentModel(fv.Commitment), Proofs: proofsModel(fv)}, err
}

// proofsModel holds the hub's answers to the predicates asked of a sealed value.
func proofsModel(fv hub.FieldValue) model.Proofs {
	var m model.Proofs
	if len(fv.Proofs) > 0 {
		m.Proofs = make(map[string]*model.PredicateProof, len(fv.Proofs))
		for name, p := range fv.Proofs {
			pm := &model.PredicateProof{Predicate: &p.Predicate, Holds: p.Holds, Commitment: commitmentModel(fv.Commitment), Context: string(p.Context)}
			if p.Proof != nil {
				pm.Proof = optString(hex.EncodeToString(p.Proof))
			}
			m.Proofs[name] = pm
		}
	}
	return m
}

// proof answers proof(predicate: …) on a sensitive integer: the hub's answer if it granted the
// predicate (it decided, logged and proved it with the rest of the read), FORBIDDEN otherwise.
func (r *sealedIntResolver) proof(ctx context.Context, obj *model.SealedInt, predicate string) (*model.PredicateProof, error) {
	if p, ok := obj.Proofs.Proofs[predicate]; ok && p != nil {
		return p, nil
	}
	return nil, forbidden(ctx)
}

func sealedDate(fv hub.FieldValue, path string) (*model.SealedDate, error) {
	v, err := plain[string](fv, path)
	return &model.SealedDate{Value: v, Commitment: commitmentModel(fv.Commitment), Proofs: proofsModel(fv)}, err
}

// proof answers proof(predicate: …) on a sensitive date, as on an integer: the hub's answer if it
// granted the age predicate, FORBIDDEN otherwise.
func (r *sealedDateResolver) proof(ctx context.Context, obj *model.SealedDate, predicate string) (*model.PredicateProof, error) {
	if p, ok := obj.Proofs.Proofs[predicate]; ok && p != nil {
		return p, nil
	}
	return nil, forbidden(ctx)
}

func commitmentModel(c *hub.Commitment) *model.Commitment {
	if c == nil {
		return nil
	}
	return &model.Commitment{Scheme: c.Scheme, Point: c.Point, Version: int64(c.Version)}
}
