package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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

// citizenFields walks the dataset fields selected on a Citizen.
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

// citizenModel turns what the hub released into the GraphQL objects.
func citizenModel(v *hub.CitizenView) (*model.Citizen, error) {
	c := &model.Citizen{ID: v.ID, Access: model.Access{Denied: map[string]bool{}}}
	cv := reflect.ValueOf(c).Elem()
	asked := map[string]bool{}
	for f := range v.Levels {
		ds, _, _ := strings.Cut(f, ".")
		asked[ds] = true
	}
	for name := range asked {
		ds, ok := dataset.Lookup(name)
		if !ok {
			continue
		}
		if v.DatasetDenied(name) {
			c.Denied[name] = true
			continue
		}
		dv, ok := v.Datasets[name]
		if !ok {
			continue // no record
		}
		slot := structField(cv, name)
		if !slot.IsValid() {
			return nil, fmt.Errorf("graph: Citizen has no field for dataset %s", name)
		}
		if ds.List {
			list := reflect.MakeSlice(slot.Type(), len(dv.Items), len(dv.Items))
			for i, item := range dv.Items {
				if err := fillItem(list.Index(i), ds, item, v.Levels); err != nil {
					return nil, err
				}
			}
			slot.Set(list)
			continue
		}
		obj := reflect.New(slot.Type().Elem())
		if len(dv.Items) > 0 {
			if err := fillItem(obj.Elem(), ds, dv.Items[0], v.Levels); err != nil {
				return nil, err
			}
		} else if err := fillItem(obj.Elem(), ds, nil, v.Levels); err != nil {
			return nil, err
		}
		slot.Set(obj)
	}
	return c, nil
}

// fillItem sets the fields of one dataset object (a model struct) from a released item.
func fillItem(obj reflect.Value, ds *dataset.Dataset, item map[string]hub.FieldValue, levels map[string]policy.Level) error {
	access := model.Access{Denied: map[string]bool{}, Revealed: map[string]bool{}}
	for _, f := range ds.Fields {
		level, asked := levels[f.Path()]
		if !asked {
			continue
		}
		switch level {
		case policy.Deny:
			access.Denied[f.Name] = true
			continue
		case policy.Reveal:
			access.Revealed[f.Name] = true
		}
		fv, ok := item[f.Name]
		if !ok {
			continue
		}
		slot := structField(obj, f.Name)
		if !slot.IsValid() {
			return fmt.Errorf("graph: %s has no field %s", obj.Type().Name(), f.Name)
		}
		if f.Sensitive {
			if err := setSealed(slot, fv); err != nil {
				return fmt.Errorf("graph: %s: %w", f.Path(), err)
			}
			continue
		}
		if err := setPlain(slot, fv.Value); err != nil {
			return fmt.Errorf("graph: %s: %w", f.Path(), err)
		}
	}
	obj.FieldByName("Access").Set(reflect.ValueOf(access))
	return nil
}

// structField finds the exported field whose name matches a GraphQL field name, ignoring case
// (nationalId ↔ NationalID).
func structField(v reflect.Value, name string) reflect.Value {
	return v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
}

func setPlain(slot reflect.Value, v any) error {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case slot.Kind() == reflect.Slice && rv.Type().AssignableTo(slot.Type()):
		slot.Set(rv)
		return nil
	case slot.Kind() == reflect.Pointer && rv.Type().ConvertibleTo(slot.Type().Elem()) && rv.Kind() == slot.Type().Elem().Kind():
		p := reflect.New(slot.Type().Elem())
		p.Elem().Set(rv)
		slot.Set(p)
		return nil
	case slot.Kind() == reflect.Pointer && rv.Kind() == reflect.Int64 && slot.Type().Elem().Kind() == reflect.Int:
		p := reflect.New(slot.Type().Elem())
		p.Elem().SetInt(rv.Int())
		slot.Set(p)
		return nil
	}
	return fmt.Errorf("cannot put a %T into %s", v, slot.Type())
}

func setSealed(slot reflect.Value, fv hub.FieldValue) error {
	obj := reflect.New(slot.Type().Elem())
	if fv.Commitment != nil {
		obj.Elem().FieldByName("Commitment").Set(reflect.ValueOf(&model.Commitment{
			Scheme: fv.Commitment.Scheme, Point: fv.Commitment.Point, Version: int64(fv.Commitment.Version),
		}))
	}
	if err := setPlain(obj.Elem().FieldByName("Value"), fv.Value); err != nil {
		return err
	}
	slot.Set(obj)
	return nil
}

// inputItem turns a GraphQL input object (gqlgen gives typed pointers, nil for null) into a dataset
// item; null and absent fields are left out, so they keep their stored values.
func inputItem(ds *dataset.Dataset, in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if _, ok := ds.Field(k); !ok {
			return nil, fmt.Errorf("dataset %s has no field %s", ds.Name, k)
		}
		switch x := v.(type) {
		case nil:
		case *string:
			if x != nil {
				out[k] = *x
			}
		case *int:
			if x != nil {
				out[k] = int64(*x)
			}
		case *int64:
			if x != nil {
				out[k] = *x
			}
		case *float64:
			if x != nil {
				out[k] = *x
			}
		case *bool:
			if x != nil {
				out[k] = *x
			}
		case []string:
			if x != nil {
				out[k] = x
			}
		default:
			return nil, fmt.Errorf("%s.%s: unexpected input type %T", ds.Name, k, v)
		}
	}
	return out, nil
}
