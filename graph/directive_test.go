package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/govhub/govhub/graph/model"
)

// fieldContext is a context for resolving the field name (under alias, if not "") of an object of
// type object.
func fieldContext(ctx context.Context, object, name, alias string) context.Context {
	if alias == "" {
		alias = name // as the parser leaves it
	}
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{
		Object: object,
		Field:  graphql.CollectedField{Field: &ast.Field{Name: name, Alias: alias}},
	})
}

// callSensitive runs the directive and turns a panic into an error, so that one case cannot stop
// the others.
func callSensitive(ctx context.Context, obj any, next graphql.Resolver) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("sensitive panicked: %v", p)
		}
	}()
	return sensitive(ctx, obj, next)
}

// sealedParts returns the Value (nil if none) and Commitment of a *model.Sealed… result, and
// whether res is nil or a nil pointer.
func sealedParts(res any) (value any, commitment *model.Commitment, isNil bool) {
	switch v := res.(type) {
	case nil:
		return nil, nil, true
	case *model.SealedString:
		if v == nil {
			return nil, nil, true
		}
		if v.Value != nil {
			value = *v.Value
		}
		return value, v.Commitment, false
	case *model.SealedInt:
		if v == nil {
			return nil, nil, true
		}
		if v.Value != nil {
			value = *v.Value
		}
		return value, v.Commitment, false
	case *model.SealedDate:
		if v == nil {
			return nil, nil, true
		}
		if v.Value != nil {
			value = *v.Value
		}
		return value, v.Commitment, false
	}
	return nil, nil, false
}

// sealedValue returns the Value of a *model.Sealed… result, or nil.
func sealedValue(res any) any {
	v, _, _ := sealedParts(res)
	return v
}

// TestSensitiveDirective: whatever the resolver returns, a value leaves only when the parent object
// says the field was revealed; otherwise only the commitment does.
func TestSensitiveDirective(t *testing.T) {
	commitment := &model.Commitment{Scheme: "pedersen-bls12381-g1/v1", Point: "abcd", Version: 3}
	s, n, d := "110105194912310021", int64(123456), "1949-12-31"
	sealed := map[string]func() any{
		"SealedString": func() any { return &model.SealedString{Value: &s, Commitment: commitment} },
		"SealedInt":    func() any { return &model.SealedInt{Value: &n, Commitment: commitment} },
		"SealedDate":   func() any { return &model.SealedDate{Value: &d, Commitment: commitment} },
	}
	revealed := model.Visibility{Revealed: map[string]bool{"nationalId": true}}
	tests := []struct {
		name       string
		obj        any
		field      string
		alias      string
		wantReveal bool
	}{
		{"revealed", &model.Identity{Visibility: revealed}, "nationalId", "", true},
		{"revealed under an alias", &model.Identity{Visibility: revealed}, "nationalId", "x", true},
		{"alias named like a revealed field", &model.Identity{Visibility: revealed}, "address", "nationalId", false},
		{"another field revealed", &model.Identity{Visibility: revealed}, "address", "", false},
		{"nothing revealed", &model.Identity{}, "nationalId", "", false},
		{"revealed false", &model.Identity{Visibility: model.Visibility{Revealed: map[string]bool{"nationalId": false}}}, "nationalId", "", false},
		{"denied, not revealed", &model.Identity{Visibility: model.Visibility{Denied: map[string]bool{"nationalId": true}}}, "nationalId", "", false},
		{"list item revealed", &model.Property{Visibility: model.Visibility{Revealed: map[string]bool{"address": true}}}, "address", "", true},
		{"list item not revealed", &model.Property{}, "address", "", false},
		{"nil access pointer", (*model.Visibility)(nil), "nationalId", "", false},
		{"parent without access", struct{ X int }{}, "nationalId", "", false},
		{"no parent", nil, "nationalId", "", false},
	}
	for _, tt := range tests {
		for typ, build := range sealed {
			t.Run(tt.name+"/"+typ, func(t *testing.T) {
				ctx := fieldContext(t.Context(), "Identity", tt.field, tt.alias)
				orig := build()
				want := sealedValue(orig)
				res, err := callSensitive(ctx, tt.obj, func(context.Context) (any, error) { return orig, nil })
				if err != nil {
					t.Fatalf("sensitive = %v", err)
				}
				if fmt.Sprintf("%T", res) != fmt.Sprintf("%T", orig) {
					t.Fatalf("sensitive = %T, want %T", res, orig)
				}
				got := sealedValue(res)
				if tt.wantReveal && got != want {
					t.Errorf("sensitive(revealed) value = %v, want %v", got, want)
				}
				if !tt.wantReveal && got != nil {
					t.Errorf("sensitive(not revealed) value = %v, want none", got)
				}
				if _, c, _ := sealedParts(res); c != commitment {
					t.Errorf("sensitive commitment = %v, want %v", c, commitment)
				}
				// The resolver's object is not modified: the value is dropped from a copy.
				if sealedValue(orig) != want {
					t.Errorf("sensitive changed the resolver's result")
				}
			})
		}
	}
}

// TestSensitiveDirectiveNil: a field the record does not hold (the resolver returns a nil
// *model.Sealed…) is null whether or not it was revealed.
func TestSensitiveDirectiveNil(t *testing.T) {
	for name, nilSealed := range map[string]any{
		"SealedString": (*model.SealedString)(nil),
		"SealedInt":    (*model.SealedInt)(nil),
		"SealedDate":   (*model.SealedDate)(nil),
		"untyped nil":  nil,
	} {
		for _, reveal := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/revealed=%v", name, reveal), func(t *testing.T) {
				obj := &model.Marriage{Visibility: model.Visibility{Revealed: map[string]bool{"spouseCitizenId": reveal}}}
				ctx := fieldContext(t.Context(), "Marriage", "spouseCitizenId", "")
				res, err := callSensitive(ctx, obj, func(context.Context) (any, error) { return nilSealed, nil })
				if err != nil {
					t.Fatalf("sensitive(nil result) = %v, want no error", err)
				}
				if _, _, isNil := sealedParts(res); !isNil {
					t.Errorf("sensitive(nil result) = %#v, want nil", res)
				}
			})
		}
	}
}

func TestSensitiveDirectiveErrors(t *testing.T) {
	ctx := fieldContext(t.Context(), "Identity", "nationalId", "")
	boom := errors.New("boom")
	s := "secret"
	res, err := callSensitive(ctx, &model.Identity{}, func(context.Context) (any, error) {
		return &model.SealedString{Value: &s}, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("sensitive(resolver error) = %v, want the resolver's error", err)
	}
	if v := sealedValue(res); v != nil && err == nil {
		t.Errorf("sensitive(resolver error) released %v", v)
	}

	// A type the directive does not know is refused rather than passed through, as an internal
	// error: logged, and shown to the client without the details.
	res, err = callSensitive(ctx, &model.Identity{}, func(context.Context) (any, error) { return &s, nil })
	if err == nil || res != nil {
		t.Fatalf("sensitive(*string) = %v, %v, want nil and an error", res, err)
	}
	var logs bytes.Buffer
	got := presentError(slog.New(slog.NewTextHandler(&logs, nil)))(ctx, err)
	if got.Extensions["code"] != CodeInternal || got.Message != "internal error" || !strings.Contains(logs.String(), "*string") {
		t.Errorf("presented sensitive(*string) error = %q %v (logged %q), want internal error, the type logged", got.Message, got.Extensions, logs.String())
	}
}

// TestDenyFields: the field middleware answers a field its parent marks denied with FORBIDDEN at
// the field's path, without resolving it; anything else is resolved.
func TestDenyFields(t *testing.T) {
	denied := model.Visibility{Denied: map[string]bool{"nationalId": true}}
	parent := func(ctx context.Context, result any) context.Context {
		return graphql.WithFieldContext(ctx, &graphql.FieldContext{
			Object: "Citizen", Field: graphql.CollectedField{Field: &ast.Field{Name: "identity", Alias: "identity"}}, Result: result,
		})
	}
	tests := []struct {
		name       string
		parent     any // nil: no parent field context
		field      string
		wantDenied bool
	}{
		{"denied", &model.Identity{Visibility: denied}, "nationalId", true},
		{"allowed", &model.Identity{Visibility: denied}, "name", false},
		{"denied dataset", &model.Citizen{Visibility: model.Visibility{Denied: map[string]bool{"health": true}}}, "health", true},
		{"list item", &model.Property{Visibility: model.Visibility{Denied: map[string]bool{"address": true}}}, "address", true},
		{"parent without access", &model.SealedString{}, "value", false},
		{"root field", nil, "citizen", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.parent != nil {
				ctx = parent(ctx, tt.parent)
			}
			fc := &graphql.FieldContext{Object: "Identity", Field: graphql.CollectedField{Field: &ast.Field{Name: tt.field, Alias: tt.field}}}
			if tt.parent != nil {
				fc.Parent = graphql.GetFieldContext(ctx)
			}
			ctx = graphql.WithFieldContext(ctx, fc)
			called := false
			res, err := denyFields(ctx, func(context.Context) (any, error) { called = true; return "resolved", nil })
			if !tt.wantDenied {
				if !called || err != nil || res != "resolved" {
					t.Errorf("denyFields(%s) = %v, %v (resolved %v), want the resolver's result", tt.field, res, err, called)
				}
				return
			}
			if called || res != nil {
				t.Errorf("denyFields(%s) = %v (resolved %v), want nil without resolving", tt.field, res, called)
			}
			var gerr *gqlerror.Error
			if !errors.As(err, &gerr) || gerr.Extensions["code"] != CodeForbidden {
				t.Fatalf("denyFields(%s) error = %v, want FORBIDDEN", tt.field, err)
			}
			if got, want := gerr.Path.String(), fc.Path().String(); got != want {
				t.Errorf("denyFields(%s) error path = %s, want %s", tt.field, got, want)
			}
		})
	}
}
