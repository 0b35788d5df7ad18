package graph

import (
	goast "go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/govhub/govhub/dataset"
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
	if !maps.Equal(citizenDataFields, want) {
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

// TestModelStructsMatchSchema: the models gqlgen generates (model/models_gen.go) are what the
// generated conversions (catalog_gen.go) and the field middleware rely on: for every dataset, a
// Citizen field of the right shape, and in the dataset's model struct exactly one Go field per
// schema field, of a type its values fit, next to the embedded Visibility. Read from the source with
// go/ast.
func TestModelStructsMatchSchema(t *testing.T) {
	s := loadSchema(t)
	f, err := parser.ParseFile(token.NewFileSet(), "model/models_gen.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*goast.StructType{}
	for _, d := range f.Decls {
		if gd, ok := d.(*goast.GenDecl); ok {
			for _, spec := range gd.Specs {
				if ts, ok := spec.(*goast.TypeSpec); ok {
					if st, ok := ts.Type.(*goast.StructType); ok {
						structs[ts.Name.Name] = st
					}
				}
			}
		}
	}
	// fields returns a struct's fields by Go name (with their type, as Go source), and whether it
	// embeds Visibility.
	fields := func(name string) (map[string]string, bool) {
		st := structs[name]
		if st == nil {
			t.Fatalf("models_gen.go has no struct %s", name)
		}
		out, access := map[string]string{}, false
		for _, fl := range st.Fields.List {
			if len(fl.Names) == 0 {
				access = access || types.ExprString(fl.Type) == "Visibility"
				continue
			}
			for _, n := range fl.Names {
				out[n.Name] = types.ExprString(fl.Type)
			}
		}
		return out, access
	}
	plainGo := map[dataset.Kind][]string{
		dataset.String:     {"*string"},
		dataset.Enum:       {"*string"},
		dataset.Date:       {"*string"},
		dataset.Int:        {"*int", "*int64"},
		dataset.Float:      {"*float64"},
		dataset.Bool:       {"*bool"},
		dataset.StringList: {"[]string"},
	}
	citizen, access := fields("Citizen")
	if !access {
		t.Errorf("model.Citizen does not embed Visibility")
	}
	for _, ds := range dataset.All() {
		t.Run(ds.Name, func(t *testing.T) {
			goName := strings.ToUpper(ds.Name[:1]) + ds.Name[1:]
			want := "*" + typeName(ds.Name)
			if ds.List {
				want = "[]" + typeName(ds.Name)
			}
			if got := citizen[goName]; got != want {
				t.Errorf("model.Citizen.%s is a %q, want %s (the dataset is a list: %v)", goName, got, want, ds.List)
			}
			st, access := fields(typeName(ds.Name))
			if !access {
				t.Errorf("model.%s does not embed model.Visibility", typeName(ds.Name))
			}
			used := map[string]bool{}
			for _, fd := range s.Types[typeName(ds.Name)].Fields {
				if strings.HasPrefix(fd.Name, "__") {
					continue
				}
				var goName string
				for n := range st {
					if strings.EqualFold(n, fd.Name) {
						goName = n
					}
				}
				if goName == "" {
					t.Errorf("model.%s has no Go field for %s", typeName(ds.Name), fd.Name)
					continue
				}
				used[goName] = true
				f, ok := ds.Field(fd.Name)
				if !ok {
					continue // reported by TestSchemaMatchesCatalog
				}
				if f.Sensitive {
					if want := "*" + sealedType(f.Kind); st[goName] != want {
						t.Errorf("model.%s.%s is a %s, want %s", typeName(ds.Name), goName, st[goName], want)
					}
					continue
				}
				if !slices.Contains(plainGo[f.Kind], st[goName]) {
					t.Errorf("model.%s.%s is a %s, want one of %v", typeName(ds.Name), goName, st[goName], plainGo[f.Kind])
				}
			}
			for name := range st {
				if !used[name] {
					t.Errorf("model.%s.%s matches no field of the schema type", typeName(ds.Name), name)
				}
			}
		})
	}
	for _, name := range []string{"SealedString", "SealedInt", "SealedDate"} {
		st, _ := fields(name)
		if _, ok := st["Value"]; !ok {
			t.Errorf("model.%s has no Value", name)
		}
		if st["Commitment"] != "*Commitment" {
			t.Errorf("model.%s has no Commitment *model.Commitment", name)
		}
	}
}
