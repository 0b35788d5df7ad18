package graph

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/graph/model"
)

// loadSchema parses ../schema.graphql, the source of truth.
func loadSchema(t *testing.T) *ast.Schema {
	t.Helper()
	src, err := os.ReadFile("../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(src)})
	if err != nil {
		t.Fatalf("LoadSchema(schema.graphql) = %v", err)
	}
	return s
}

// plainTypes returns the GraphQL types a plain (or input) field of kind k may have: Int fields are
// Int or Int64. Enum fields are checked against their enum type instead.
func plainTypes(k dataset.Kind) []string {
	switch k {
	case dataset.String:
		return []string{"String"}
	case dataset.Int:
		return []string{"Int", "Int64"}
	case dataset.Float:
		return []string{"Float"}
	case dataset.Bool:
		return []string{"Boolean"}
	case dataset.Date:
		return []string{"Date"}
	case dataset.StringList:
		return []string{"[String!]"}
	}
	return nil
}

// checkPlainType checks that a (nullable) field type fits a catalog field.
func checkPlainType(t *testing.T, s *ast.Schema, where string, typ *ast.Type, f dataset.Field) {
	t.Helper()
	if typ.NonNull {
		t.Errorf("%s has type %s, want a nullable type (a field may be unset)", where, typ)
	}
	if f.Kind == dataset.Enum {
		def := s.Types[typ.Name()]
		if typ.Elem != nil || def == nil || def.Kind != ast.Enum {
			t.Errorf("%s has type %s, want an enum", where, typ)
			return
		}
		var values []string
		for _, v := range def.EnumValues {
			values = append(values, v.Name)
		}
		if !slices.Equal(values, f.Enum) {
			t.Errorf("%s: enum %s = %v, want %v", where, def.Name, values, f.Enum)
		}
		return
	}
	got := strings.TrimSuffix(typ.String(), "!")
	if !slices.Contains(plainTypes(f.Kind), got) {
		t.Errorf("%s has type %s, want one of %v for a %s", where, typ, plainTypes(f.Kind), f.Kind)
	}
}

// TestSchemaMatchesCatalog keeps schema.graphql and package dataset's catalog in step: every dataset
// is a field of Citizen whose object type has exactly the dataset's fields, sensitive fields (and
// only they) carry @sensitive and a Sealed type of their kind, and the dataset's input type and
// update mutation take the same fields.
func TestSchemaMatchesCatalog(t *testing.T) {
	s := loadSchema(t)
	citizen := s.Types["Citizen"]
	if citizen == nil {
		t.Fatal("schema has no type Citizen")
	}
	var datasetFields []string
	for _, ds := range dataset.All() {
		datasetFields = append(datasetFields, ds.Name)
		t.Run(ds.Name, func(t *testing.T) {
			cf := citizen.Fields.ForName(ds.Name)
			if cf == nil {
				t.Fatalf("Citizen has no field %s", ds.Name)
			}
			if cf.Type.NonNull {
				t.Errorf("Citizen.%s has type %s, want nullable (a denied dataset is null)", ds.Name, cf.Type)
			}
			if ds.List != (cf.Type.Elem != nil) {
				t.Errorf("Citizen.%s has type %s; the dataset is a list: %v", ds.Name, cf.Type, ds.List)
			}
			if cf.Type.Elem != nil && !cf.Type.Elem.NonNull {
				t.Errorf("Citizen.%s has type %s, want non-null items", ds.Name, cf.Type)
			}
			if got, want := cf.Type.Name(), typeName(ds.Name); got != want {
				t.Errorf("Citizen.%s has type %s, want %s", ds.Name, cf.Type, want)
			}
			obj := s.Types[cf.Type.Name()]
			if obj == nil || obj.Kind != ast.Object {
				t.Fatalf("Citizen.%s: %s is not an object type", ds.Name, cf.Type.Name())
			}

			var names []string
			for _, fd := range obj.Fields {
				if !strings.HasPrefix(fd.Name, "__") {
					names = append(names, fd.Name)
				}
			}
			var want []string
			for _, f := range ds.Fields {
				want = append(want, f.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("type %s has fields %v, want %v (the catalog's, in its order)", obj.Name, names, want)
			}

			for _, f := range ds.Fields {
				fd := obj.Fields.ForName(f.Name)
				if fd == nil {
					continue // reported above
				}
				where := obj.Name + "." + f.Name
				sens := fd.Directives.ForName("sensitive")
				if f.Sensitive {
					if sens == nil {
						t.Errorf("%s is sensitive but has no @sensitive", where)
					}
					if len(fd.Directives) != 1 {
						t.Errorf("%s has directives %v, want only @sensitive", where, fd.Directives)
					}
					if got, want := fd.Type.String(), sealedType(f.Kind); got != want {
						t.Errorf("%s has type %s, want %s", where, got, want)
					}
					continue
				}
				if len(fd.Directives) != 0 {
					t.Errorf("%s is not sensitive but has directives %v", where, fd.Directives)
				}
				checkPlainType(t, s, where, fd.Type, f)
			}

			inName := obj.Name + "Input"
			in := s.Types[inName]
			if in == nil || in.Kind != ast.InputObject {
				t.Fatalf("schema has no input type %s", inName)
			}
			var inNames []string
			for _, fd := range in.Fields {
				inNames = append(inNames, fd.Name)
			}
			if !slices.Equal(inNames, want) {
				t.Errorf("input %s has fields %v, want %v", inName, inNames, want)
			}
			for _, f := range ds.Fields {
				if fd := in.Fields.ForName(f.Name); fd != nil {
					checkPlainType(t, s, inName+"."+f.Name, fd.Type, f)
					if len(fd.Directives) != 0 {
						t.Errorf("input field %s.%s has directives %v", inName, f.Name, fd.Directives)
					}
				}
			}

			mut := s.Mutation.Fields.ForName("update" + obj.Name)
			if mut == nil {
				t.Fatalf("Mutation has no field update%s", obj.Name)
			}
			arg := mut.Arguments.ForName("input")
			if arg == nil || arg.Type.Name() != inName || (arg.Type.Elem != nil) != ds.List || !arg.Type.NonNull {
				t.Errorf("update%s's input argument = %v, want %s! (a list for list datasets)", obj.Name, arg, inName)
			}
		})
	}

	t.Run("Citizen", func(t *testing.T) {
		var names []string
		for _, fd := range citizen.Fields {
			if !strings.HasPrefix(fd.Name, "__") && fd.Name != "id" {
				names = append(names, fd.Name)
			}
		}
		if !slices.Equal(names, datasetFields) {
			t.Errorf("Citizen has dataset fields %v, want %v", names, datasetFields)
		}
	})

	// Sensitive fields are the only ones marked: no type outside the datasets uses @sensitive.
	t.Run("SensitiveOnlyOnDatasets", func(t *testing.T) {
		for name, def := range s.Types {
			if _, ok := dataset.Lookup(strings.ToLower(name[:1]) + name[1:]); ok {
				continue
			}
			for _, fd := range def.Fields {
				if fd.Directives.ForName("sensitive") != nil {
					t.Errorf("%s.%s has @sensitive, but %s is not a dataset type", name, fd.Name, name)
				}
			}
		}
	})

	// Every sealed type has a value of its kind and a commitment.
	t.Run("SealedTypes", func(t *testing.T) {
		for typ, value := range map[string]string{"SealedString": "String", "SealedInt": "Int64", "SealedDate": "Date"} {
			def := s.Types[typ]
			if def == nil {
				t.Errorf("schema has no type %s", typ)
				continue
			}
			if v := def.Fields.ForName("value"); v == nil || v.Type.String() != value {
				t.Errorf("%s.value = %v, want %s", typ, v, value)
			}
			if c := def.Fields.ForName("commitment"); c == nil || c.Type.String() != "Commitment" {
				t.Errorf("%s.commitment = %v, want Commitment", typ, c)
			}
		}
	})
}

// TestRootFieldsTouchingCitizens: every root field that reads or writes citizen data is in
// citizenDataFields (which oneCitizenPerRequest counts), and nothing else is.
func TestRootFieldsTouchingCitizens(t *testing.T) {
	s := loadSchema(t)
	want := map[string]bool{}
	for _, root := range []*ast.Definition{s.Query, s.Mutation} {
		for _, fd := range root.Fields {
			if fd.Type.Name() == "Citizen" || fd.Type.Name() == "CitizenConnection" || strings.HasPrefix(fd.Name, "update") {
				want[fd.Name] = true
			}
		}
	}
	if !reflect.DeepEqual(citizenDataFields, want) {
		t.Errorf("citizenDataFields = %v, want %v", citizenDataFields, want)
	}
	for _, fd := range s.Mutation.Fields {
		if touches := fd.Type.Name() == "UpdateResult"; touches != citizenDataFields[fd.Name] {
			t.Errorf("mutation %s (returns %s): in citizenDataFields %v", fd.Name, fd.Type.Name(), citizenDataFields[fd.Name])
		}
	}
}

// TestGeneratedSchemaIsCurrent: generated.go was generated from the schema.graphql in the tree
// (`go tool gqlgen generate` was run after the last change).
func TestGeneratedSchemaIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0].Input != string(src) {
		t.Errorf("generated.go embeds a schema that differs from schema.graphql: run go tool gqlgen generate")
	}
}

// TestModelStructsMatchSchema: the reflection in fields.go (structField, fillItem, setPlain,
// setSealed) finds, for every dataset, a Citizen field of the right shape, and in the dataset's
// model struct exactly one Go field per schema field, of a type its values fit, next to the
// embedded Access.
func TestModelStructsMatchSchema(t *testing.T) {
	s := loadSchema(t)
	citizen := reflect.ValueOf(&model.Citizen{}).Elem()
	if _, ok := reflect.TypeFor[model.Citizen]().FieldByName("Access"); !ok {
		t.Errorf("model.Citizen does not embed Access")
	}
	sealedGo := map[string]reflect.Type{
		"SealedString": reflect.TypeFor[*model.SealedString](),
		"SealedInt":    reflect.TypeFor[*model.SealedInt](),
		"SealedDate":   reflect.TypeFor[*model.SealedDate](),
	}
	plainGo := map[dataset.Kind][]reflect.Type{
		dataset.String:     {reflect.TypeFor[*string]()},
		dataset.Enum:       {reflect.TypeFor[*string]()},
		dataset.Date:       {reflect.TypeFor[*string]()},
		dataset.Int:        {reflect.TypeFor[*int](), reflect.TypeFor[*int64]()},
		dataset.Float:      {reflect.TypeFor[*float64]()},
		dataset.Bool:       {reflect.TypeFor[*bool]()},
		dataset.StringList: {reflect.TypeFor[[]string]()},
	}
	for _, ds := range dataset.All() {
		t.Run(ds.Name, func(t *testing.T) {
			slot := structField(citizen, ds.Name)
			if !slot.IsValid() {
				t.Fatalf("model.Citizen has no field for dataset %s", ds.Name)
			}
			var st reflect.Type
			switch {
			case ds.List && slot.Kind() == reflect.Slice && slot.Type().Elem().Kind() == reflect.Struct:
				st = slot.Type().Elem()
			case !ds.List && slot.Kind() == reflect.Pointer && slot.Type().Elem().Kind() == reflect.Struct:
				st = slot.Type().Elem()
			default:
				t.Fatalf("model.Citizen's field for %s is a %s; the dataset is a list: %v", ds.Name, slot.Type(), ds.List)
			}
			if st.Name() != typeName(ds.Name) {
				t.Errorf("model.Citizen's field for %s is of type %s, want %s", ds.Name, st.Name(), typeName(ds.Name))
			}
			if f, ok := st.FieldByName("Access"); !ok || !f.Anonymous || f.Type != reflect.TypeFor[model.Access]() {
				t.Errorf("model.%s does not embed model.Access", st.Name())
			}
			obj := reflect.New(st).Elem()
			schemaObj := s.Types[typeName(ds.Name)]
			used := map[string]bool{"Access": true}
			for _, fd := range schemaObj.Fields {
				if strings.HasPrefix(fd.Name, "__") {
					continue
				}
				gf := structField(obj, fd.Name)
				if !gf.IsValid() {
					t.Errorf("model.%s has no Go field for %s (or more than one)", st.Name(), fd.Name)
					continue
				}
				goName := ""
				for i := range st.NumField() {
					if strings.EqualFold(st.Field(i).Name, fd.Name) {
						goName = st.Field(i).Name
					}
				}
				used[goName] = true
				f, ok := ds.Field(fd.Name)
				if !ok {
					continue // reported by TestSchemaMatchesCatalog
				}
				if f.Sensitive {
					if want := sealedGo[sealedType(f.Kind)]; gf.Type() != want {
						t.Errorf("model.%s.%s is a %s, want %s", st.Name(), goName, gf.Type(), want)
					}
					continue
				}
				if !slices.Contains(plainGo[f.Kind], gf.Type()) {
					t.Errorf("model.%s.%s is a %s, want one of %v", st.Name(), goName, gf.Type(), plainGo[f.Kind])
				}
			}
			for i := range st.NumField() {
				if name := st.Field(i).Name; !used[name] {
					t.Errorf("model.%s.%s matches no field of the schema type", st.Name(), name)
				}
			}
		})
	}
	for name, typ := range sealedGo {
		st := typ.Elem()
		if _, ok := st.FieldByName("Value"); !ok {
			t.Errorf("model.%s has no Value", name)
		}
		if f, ok := st.FieldByName("Commitment"); !ok || f.Type != reflect.TypeFor[*model.Commitment]() {
			t.Errorf("model.%s has no Commitment *model.Commitment", name)
		}
	}
}
