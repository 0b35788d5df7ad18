package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// citizenFieldContext validates query against the executable schema and returns a context as the
// citizen resolver sees it: the operation, and the field context of its citizen field.
func citizenFieldContext(t *testing.T, query string, vars map[string]any) context.Context {
	t.Helper()
	schema := NewExecutableSchema(Config{}).Schema()
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil)
	if len(errs) > 0 {
		t.Fatalf("query does not validate: %v", errs)
	}
	if len(doc.Operations) != 1 {
		t.Fatalf("query has %d operations, want 1", len(doc.Operations))
	}
	op := &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], Variables: vars}
	ctx := graphql.WithOperationContext(t.Context(), op)
	for _, f := range graphql.CollectFields(op, op.Operation.SelectionSet, []string{"Query"}) {
		if f.Name == "citizen" {
			return graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Query", Field: f, IsResolver: true})
		}
	}
	t.Fatalf("query has no citizen field")
	return nil
}

func TestRequestedFields(t *testing.T) {
	const (
		v  = hub.WantValue
		c  = hub.WantCommitment
		vc = hub.WantValue | hub.WantCommitment
	)
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  map[string]hub.Want
	}{
		{
			name:  "id only",
			query: `{ citizen(id: "C1", purpose: "p") { id __typename } }`,
			want:  map[string]hub.Want{},
		},
		{
			name:  "plain fields",
			query: `{ citizen(id: "C1", purpose: "p") { identity { name gender } tax { year } } }`,
			want:  map[string]hub.Want{"identity.name": v, "identity.gender": v, "tax.year": v},
		},
		{
			name:  "value only",
			query: `{ citizen(id: "C1", purpose: "p") { identity { nationalId { value } } } }`,
			want:  map[string]hub.Want{"identity.nationalId": v},
		},
		{
			name:  "commitment only",
			query: `{ citizen(id: "C1", purpose: "p") { health { bloodType { commitment { point } } } } }`,
			want:  map[string]hub.Want{"health.bloodType": c},
		},
		{
			name:  "commitment typename only",
			query: `{ citizen(id: "C1", purpose: "p") { health { bloodType { commitment { __typename } } } } }`,
			want:  map[string]hub.Want{"health.bloodType": c},
		},
		{
			name:  "value and commitment",
			query: `{ citizen(id: "C1", purpose: "p") { tax { annualIncome { value commitment { scheme point version } } } } }`,
			want:  map[string]hub.Want{"tax.annualIncome": vc},
		},
		{
			name:  "typename only carries nothing",
			query: `{ citizen(id: "C1", purpose: "p") { health { __typename bloodType { __typename } } } }`,
			want:  map[string]hub.Want{"health.bloodType": 0},
		},
		{
			name:  "dataset typename only asks for no field",
			query: `{ citizen(id: "C1", purpose: "p") { health { __typename } property { __typename } } }`,
			want:  map[string]hub.Want{},
		},
		{
			name: "aliases",
			query: `{ c: citizen(id: "C1", purpose: "p") { i: identity { n: name id: nationalId { c: commitment { p: point } } }
				x: tax { a: annualIncome { v: value } } } }`,
			want: map[string]hub.Want{"identity.name": v, "identity.nationalId": c, "tax.annualIncome": v},
		},
		{
			name:  "one field under two aliases",
			query: `{ citizen(id: "C1", purpose: "p") { identity { a: nationalId { value } b: nationalId { commitment { point } } } } }`,
			want:  map[string]hub.Want{"identity.nationalId": vc},
		},
		{
			name:  "one dataset under two aliases",
			query: `{ citizen(id: "C1", purpose: "p") { a: health { bloodType { value } } b: health { bloodType { commitment { point } } vaccinations } } }`,
			want:  map[string]hub.Want{"health.bloodType": vc, "health.vaccinations": v},
		},
		{
			name: "named fragments at every level",
			query: `{ citizen(id: "C1", purpose: "p") { ...C } }
				fragment C on Citizen { identity { ...I } property { ...P } }
				fragment I on Identity { name birthDate { ...D } }
				fragment D on SealedDate { value }
				fragment P on Property { city address { ...S } }
				fragment S on SealedString { commitment { point } }`,
			want: map[string]hub.Want{"identity.name": v, "identity.birthDate": v, "property.city": v, "property.address": c},
		},
		{
			name: "nested named fragments",
			query: `{ citizen(id: "C1", purpose: "p") { ...A } }
				fragment A on Citizen { ...B }
				fragment B on Citizen { socialInsurance { ...S } }
				fragment S on SocialInsurance { monthlyBase { ...M } }
				fragment M on SealedInt { ...N }
				fragment N on SealedInt { value }`,
			want: map[string]hub.Want{"socialInsurance.monthlyBase": v},
		},
		{
			name: "inline fragments",
			query: `{ citizen(id: "C1", purpose: "p") {
				... on Citizen { marriage { ... on Marriage { spouseCitizenId { ... on SealedString { value } } } } }
				... { businessLicense { ... { uscc } } } } }`,
			want: map[string]hub.Want{"marriage.spouseCitizenId": v, "businessLicense.uscc": v},
		},
		{
			name: "fragments merge with fields",
			query: `{ citizen(id: "C1", purpose: "p") { tax { taxPaid { commitment { point } } } ...T } }
				fragment T on Citizen { tax { taxPaid { value } } }`,
			want: map[string]hub.Want{"tax.taxPaid": vc},
		},
		{
			name: "skip and include",
			query: `query($yes: Boolean!, $no: Boolean!) { citizen(id: "C1", purpose: "p") {
				identity { name @skip(if: $yes) gender @include(if: $no) hukouCity @include(if: $yes)
					nationalId { value @include(if: $no) commitment { point } } }
				tax @skip(if: true) { year } } }`,
			vars: map[string]any{"yes": true, "no": false},
			want: map[string]hub.Want{"identity.hukouCity": v, "identity.nationalId": c},
		},
		{
			name: "skipped fragments",
			query: `{ citizen(id: "C1", purpose: "p") { health { bloodType { commitment { point } ...V @skip(if: true) ... @include(if: false) { value } } } } }
				fragment V on SealedString { value }`,
			want: map[string]hub.Want{"health.bloodType": c},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requestedFields(citizenFieldContext(t, tt.query, tt.vars))
			if !maps.Equal(got, tt.want) {
				t.Errorf("requestedFields(%s) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

// TestRequestedFieldsEveryField selects every field of every dataset, value and commitment: each is
// requested with everything.
func TestRequestedFieldsEveryField(t *testing.T) {
	var b strings.Builder
	want := map[string]hub.Want{}
	for _, ds := range dataset.All() {
		fmt.Fprintf(&b, " %s {", ds.Name)
		for _, f := range ds.Fields {
			if f.Sensitive {
				fmt.Fprintf(&b, " %s { value commitment { point } }", f.Name)
				want[f.Path()] = hub.WantValue | hub.WantCommitment
			} else {
				fmt.Fprintf(&b, " %s", f.Name)
				want[f.Path()] = hub.WantValue
			}
		}
		b.WriteString(" }")
	}
	q := `{ citizen(id: "C1", purpose: "p") {` + b.String() + ` } }`
	if got := requestedFields(citizenFieldContext(t, q, nil)); !maps.Equal(got, want) {
		t.Errorf("requestedFields(every field) = %v, want %v", got, want)
	}
}

// fullView is what the hub releases to a caller who may see everything of c's records: every field
// at reveal, sensitive ones with a commitment.
func fullView(c demo.Citizen) *hub.CitizenView {
	v := &hub.CitizenView{ID: c.ID, Levels: map[string]policy.Level{}, Datasets: map[string]*hub.DatasetView{}}
	for _, ds := range dataset.All() {
		for _, f := range ds.Fields {
			v.Levels[f.Path()] = policy.Reveal
		}
		items, ok := c.Records[ds.Name]
		if !ok {
			continue
		}
		dv := &hub.DatasetView{}
		for i, item := range items {
			out := map[string]hub.FieldValue{}
			for _, f := range ds.Fields {
				val, ok := item[f.Name]
				if !ok {
					continue
				}
				fv := hub.FieldValue{Value: val}
				if f.Sensitive {
					fv.Commitment = &hub.Commitment{Scheme: "test", Point: fmt.Sprintf("%s#%d", f.Path(), i), Version: uint64(i + 1)}
				}
				out[f.Name] = fv
			}
			dv.Items = append(dv.Items, out)
		}
		v.Datasets[ds.Name] = dv
	}
	return v
}

// objects returns the model objects of dataset ds on c (nil when there are none), as JSON (the
// fields named as in the schema) and with their access marks.
func objects(t *testing.T, c *model.Citizen, ds string) (objs []map[string]any, access []model.Visibility) {
	t.Helper()
	var v any
	list := false
	switch ds {
	case "identity":
		if c.Identity != nil {
			v, access = c.Identity, []model.Visibility{c.Identity.Visibility}
		}
	case "marriage":
		if c.Marriage != nil {
			v, access = c.Marriage, []model.Visibility{c.Marriage.Visibility}
		}
	case "socialInsurance":
		if c.SocialInsurance != nil {
			v, access = c.SocialInsurance, []model.Visibility{c.SocialInsurance.Visibility}
		}
	case "tax":
		if c.Tax != nil {
			v, access = c.Tax, []model.Visibility{c.Tax.Visibility}
		}
	case "property":
		if list = true; c.Property != nil {
			v = c.Property
			for _, p := range c.Property {
				access = append(access, p.Visibility)
			}
		}
	case "businessLicense":
		if list = true; c.BusinessLicense != nil {
			v = c.BusinessLicense
			for _, b := range c.BusinessLicense {
				access = append(access, b.Visibility)
			}
		}
	case "health":
		if c.Health != nil {
			v, access = c.Health, []model.Visibility{c.Health.Visibility}
		}
	default:
		t.Fatalf("objects: no case for dataset %s", ds)
	}
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if !list {
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		return []map[string]any{obj}, access
	}
	if err := d.Decode(&objs); err != nil {
		t.Fatal(err)
	}
	return objs, access
}

// modelValue reads a released field back from a model object as JSON: the value, and the
// commitment of a sealed field.
func modelValue(t *testing.T, obj map[string]any, f dataset.Field) (value any, commitment map[string]any, set bool) {
	t.Helper()
	v, set := obj[f.Name]
	if !set {
		return nil, nil, false
	}
	if f.Sensitive {
		sealed := v.(map[string]any)
		commitment, _ = sealed["commitment"].(map[string]any)
		return sealed["value"], commitment, true
	}
	return v, nil, true
}

// sameJSONValue reports whether a value read back from JSON equals a value of package dataset's
// conventions (int64, float64, string, bool, []string).
func sameJSONValue(t *testing.T, got, want any) bool {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(g, w)
}

// TestCitizenModelEveryField fills the model from a full view of demo citizens and reads every
// field back: values as the catalog holds them, commitments as released, every field revealed and
// nothing denied.
func TestCitizenModelEveryField(t *testing.T) {
	gen := demo.NewGenerator(1)
	seen := map[string]bool{}
	for i := 1; i <= 60; i++ {
		c := gen.Citizen(i)
		m, err := citizenModel(fullView(c))
		if err != nil {
			t.Fatalf("citizenModel(%s) = %v", c.ID, err)
		}
		if m.ID != c.ID || len(m.Denied) != 0 {
			t.Errorf("citizenModel(%s) = id %s, denied %v, want id %s and nothing denied", c.ID, m.ID, m.Denied, c.ID)
		}
		for _, ds := range dataset.All() {
			objs, access := objects(t, m, ds.Name)
			items := c.Records[ds.Name]
			if len(items) == 0 {
				if objs != nil {
					t.Errorf("%s: %s = %v, want nil (no record)", c.ID, ds.Name, objs)
				}
				continue
			}
			seen[ds.Name] = true
			if len(objs) != len(items) {
				t.Fatalf("%s: %s has %d items, want %d", c.ID, ds.Name, len(objs), len(items))
			}
			for j, obj := range objs {
				for _, f := range ds.Fields {
					want, wantSet := items[j][f.Name]
					got, commitment, set := modelValue(t, obj, f)
					if l, ok := want.([]string); ok && len(l) == 0 && !set {
						// The model's JSON tags drop an empty list (omitempty); GraphQL serves [].
						got, set = l, true
					}
					if set != wantSet || set && !sameJSONValue(t, got, want) {
						t.Errorf("%s: %s[%d] = %#v (set %v), want %#v (set %v)", c.ID, f.Path(), j, got, set, want, wantSet)
					}
					if f.Sensitive && wantSet {
						if wantC := fmt.Sprintf("%s#%d", f.Path(), j); commitment == nil || commitment["point"] != wantC || commitment["version"] != json.Number(fmt.Sprint(j+1)) {
							t.Errorf("%s: %s[%d].commitment = %+v, want point %s version %d", c.ID, f.Path(), j, commitment, wantC, j+1)
						}
					}
					if !access[j].IsRevealed(f.Name) {
						t.Errorf("%s: %s[%d] IsRevealed = false, want true (level reveal)", c.ID, f.Path(), j)
					}
					if access[j].IsDenied(f.Name) {
						t.Errorf("%s: %s[%d] IsDenied = true, want false", c.ID, f.Path(), j)
					}
				}
			}
		}
	}
	for _, ds := range dataset.Names() {
		if !seen[ds] {
			t.Errorf("no demo citizen among 60 has %s: the test did not check it", ds)
		}
	}
}

// TestCitizenModelLevels checks the access marks citizenModel leaves for the middleware and the
// directive: denied fields and datasets, commit-level fields (not revealed), fields not asked.
func TestCitizenModelLevels(t *testing.T) {
	nationalID := "11010519491231002X"
	v := &hub.CitizenView{
		ID: "C000001",
		Levels: map[string]policy.Level{
			"identity.name":         policy.Reveal,
			"identity.nationalId":   policy.Deny,
			"identity.address":      policy.Commit,
			"tax.annualIncome":      policy.Deny,
			"tax.taxPaid":           policy.Deny,
			"marriage.registeredOn": policy.Reveal, // asked, no record
			"property.address":      policy.Deny,
			"property.city":         policy.Reveal,
		},
		Datasets: map[string]*hub.DatasetView{
			"identity": {Items: []map[string]hub.FieldValue{{
				"name":       {Value: "张三"},
				"address":    {Commitment: &hub.Commitment{Scheme: "s", Point: "p", Version: 7}},
				"nationalId": {Value: nationalID}, // never released by the hub; must not surface
				"gender":     {Value: "MALE"},     // not asked
			}}},
			"property": {Items: []map[string]hub.FieldValue{{"city": {Value: "北京市"}}, {"city": {Value: "上海市"}}}},
		},
	}
	m, err := citizenModel(v)
	if err != nil {
		t.Fatalf("citizenModel = %v", err)
	}
	if !m.IsDenied("tax") || m.Tax != nil {
		t.Errorf("tax: denied %v, value %v, want denied and nil", m.IsDenied("tax"), m.Tax)
	}
	for _, ds := range []string{"identity", "marriage", "property", "health"} {
		if m.IsDenied(ds) {
			t.Errorf("dataset %s denied, want not", ds)
		}
	}
	if m.Marriage != nil || m.Health != nil {
		t.Errorf("marriage %v, health %v, want nil (no record, not asked)", m.Marriage, m.Health)
	}
	id := m.Identity
	if id == nil {
		t.Fatal("identity is nil")
	}
	if id.Name == nil || *id.Name != "张三" {
		t.Errorf("identity.name = %v, want 张三", id.Name)
	}
	if !id.IsDenied("nationalId") || id.NationalID != nil {
		t.Errorf("identity.nationalId: denied %v, value %v, want denied and nil", id.IsDenied("nationalId"), id.NationalID)
	}
	if id.Gender != nil {
		t.Errorf("identity.gender = %v, want nil (not asked)", *id.Gender)
	}
	if id.IsRevealed("address") || id.IsDenied("address") {
		t.Errorf("identity.address: revealed %v, denied %v, want neither (commit)", id.IsRevealed("address"), id.IsDenied("address"))
	}
	if id.Address == nil || id.Address.Value != nil || id.Address.Commitment == nil || *id.Address.Commitment != (model.Commitment{Scheme: "s", Point: "p", Version: 7}) {
		t.Errorf("identity.address = %+v, want the commitment only", id.Address)
	}
	if !id.IsRevealed("name") {
		t.Errorf("identity.name not revealed")
	}
	if len(m.Property) != 2 {
		t.Fatalf("property has %d items, want 2", len(m.Property))
	}
	for i, city := range []string{"北京市", "上海市"} {
		p := m.Property[i]
		if p.City == nil || *p.City != city || !p.IsDenied("address") || p.Address != nil {
			t.Errorf("property[%d] = city %v, address denied %v, want %s and denied", i, p.City, p.IsDenied("address"), city)
		}
	}
}

// TestCitizenModelBadValue: a released value of the wrong Go type is an error, not a panic or a
// silently dropped field.
func TestCitizenModelBadValue(t *testing.T) {
	tests := []struct {
		name  string
		field string // dataset.field
		value any
	}{
		{"string for an int", "tax.year", "2024"},
		{"float for an int", "tax.year", 2024.0},
		{"string for a bool", "socialInsurance.insured", "yes"},
		{"int for a float", "property.area", int64(90)},
		{"ints for a string list", "health.vaccinations", []int{1}},
		{"string for a sealed int", "tax.annualIncome", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, field, _ := strings.Cut(tt.field, ".")
			v := &hub.CitizenView{ID: "C000001", Levels: map[string]policy.Level{tt.field: policy.Reveal},
				Datasets: map[string]*hub.DatasetView{ds: {Items: []map[string]hub.FieldValue{{field: {Value: tt.value}}}}}}
			if _, err := citizenModel(v); err == nil {
				t.Errorf("citizenModel(%s = %#v) = nil error, want an error", tt.field, tt.value)
			}
		})
	}
}

// TestDatasetItems checks the generated conversions from update inputs to the hub's items.
func TestDatasetItems(t *testing.T) {
	sp := func(s string) *string { return &s }
	i := func(n int) *int { return &n }
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name string
		got  []map[string]any
		want []map[string]any
	}{
		{"strings", identityItems(model.IdentityInput{Name: sp("张三"), Gender: sp("MALE")}), []map[string]any{{"name": "张三", "gender": "MALE"}}},
		{"null and nil pointers left out", identityItems(model.IdentityInput{Name: nil, HukouCity: (*string)(nil), Address: sp("x")}), []map[string]any{{"address": "x"}}},
		{"ints become int64", taxItems(model.TaxInput{Year: i(2024), AnnualIncome: i64(1 << 40), TaxPaid: (*int64)(nil)}), []map[string]any{{"year": int64(2024), "annualIncome": int64(1 << 40)}}},
		{"string list", healthItems(model.HealthInput{Vaccinations: []string{"a", "b"}}), []map[string]any{{"vaccinations": []string{"a", "b"}}}},
		{"empty list kept", healthItems(model.HealthInput{Vaccinations: []string{}}), []map[string]any{{"vaccinations": []string{}}}},
		{"nil list left out", healthItems(model.HealthInput{Vaccinations: []string(nil)}), []map[string]any{{}}},
		{"empty", identityItems(model.IdentityInput{}), []map[string]any{{}}},
		{"list dataset", propertyItems([]model.PropertyInput{{City: sp("北京市"), Area: new(89.5)}, {}}), []map[string]any{{"city": "北京市", "area": 89.5}, {}}},
		{"empty list dataset", propertyItems([]model.PropertyInput{}), []map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// %#v prints maps sorted by key, with the Go types of the values.
			if got, want := fmt.Sprintf("%#v", tt.got), fmt.Sprintf("%#v", tt.want); got != want {
				t.Errorf("items = %s, want %s", got, want)
			}
		})
	}
}

// TestUpdateInputRefused: an input field the dataset does not have, or a value of the wrong type,
// is refused by validation against the schema, before any resolver runs (the generated inputs
// take only the schema's fields, each of its type).
func TestUpdateInputRefused(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	tests := []struct{ name, mutation string }{
		{"unknown field", `updateIdentity(citizenId: "C1", purpose: "p", input: {salary: "1"})`},
		{"field of another dataset", `updateIdentity(citizenId: "C1", purpose: "p", input: {year: 2024})`},
		{"unexpected type", `updateIdentity(citizenId: "C1", purpose: "p", input: {name: 5})`},
		{"int list", `updateHealth(citizenId: "C1", purpose: "p", input: {vaccinations: [1]})`},
		{"one item for a list dataset's list", `updateTax(citizenId: "C1", purpose: "p", input: [{year: 2024}])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "mutation { " + tt.mutation + " { version } }"
			if _, errs := gqlparser.LoadQueryWithRules(schema, q, nil); len(errs) == 0 {
				t.Errorf("%s validates, want an error", q)
			}
		})
	}
	ok := `mutation { updateTax(citizenId: "C1", purpose: "p", input: {year: 2024, annualIncome: 1}) { version } }`
	if _, errs := gqlparser.LoadQueryWithRules(schema, ok, nil); len(errs) > 0 {
		t.Errorf("%s = %v, want it to validate", ok, errs)
	}
}
