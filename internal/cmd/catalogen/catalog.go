package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// catalog is what schema.graphql says about the datasets, in Citizen's field order.
type catalog struct {
	Datasets []dataset
}

// dataset is one object type marked @dataset.
type dataset struct {
	Name         string // Citizen's field, "socialInsurance"
	Type         string // the object type, "SocialInsurance"; its input is Type+"Input"
	Owner        string
	AdminPurpose string
	List         bool
	Fields       []field
}

// field is one field of a dataset type.
type field struct {
	Name      string   // "nationalId"
	Kind      string   // package dataset's Kind constant: "String", "Int"…
	Sensitive bool     // @sensitive, a Sealed… type
	Enum      []string // the enum's values, for Kind "Enum"
	Type      string   // the object field's GraphQL type: "String", "SealedInt", "Gender", "[String!]"
	Input     string   // the input field's GraphQL type: "String", "Int64", "Gender", "[String!]"
}

// sealedValue is the value type of each Sealed… type, and the catalog kind it holds.
var sealedValue = map[string]struct{ value, kind string }{
	"SealedString": {"String", "String"},
	"SealedInt":    {"Int64", "Int"},
	"SealedDate":   {"Date", "Date"},
}

// plainKinds maps the GraphQL type of a plain field to its catalog kind (enums apart).
var plainKinds = map[string]string{
	"String":    "String",
	"Int":       "Int",
	"Int64":     "Int",
	"Float":     "Float",
	"Boolean":   "Bool",
	"Date":      "Date",
	"[String!]": "StringList",
}

// load parses and validates schema source src (named name in errors) and reads its catalog.
func load(name, src string) (*catalog, error) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: src})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return read(s)
}

// read reads the catalog from a schema: every field of Citizen whose type is marked @dataset, with
// the conventions the graph package relies on checked (type names, input types, update mutations),
// so that a schema that breaks them fails here rather than at run time.
func read(s *ast.Schema) (*catalog, error) {
	citizen := s.Types["Citizen"]
	if citizen == nil {
		return nil, fmt.Errorf("schema has no type Citizen")
	}
	c := &catalog{}
	held := map[string]bool{}
	for _, cf := range citizen.Fields {
		def := s.Types[cf.Type.Name()]
		if def == nil || def.Directives.ForName("dataset") == nil {
			continue
		}
		d, err := readDataset(s, cf, def)
		if err != nil {
			return nil, err
		}
		held[def.Name] = true
		c.Datasets = append(c.Datasets, d)
	}
	for _, def := range s.Types {
		if def.Directives.ForName("dataset") != nil && !held[def.Name] {
			return nil, fmt.Errorf("type %s is marked @dataset but no field of Citizen holds it", def.Name)
		}
	}
	if len(c.Datasets) == 0 {
		return nil, fmt.Errorf("no field of Citizen holds a type marked @dataset")
	}
	return c, nil
}

func readDataset(s *ast.Schema, cf *ast.FieldDefinition, def *ast.Definition) (dataset, error) {
	dir := def.Directives.ForName("dataset")
	d := dataset{Name: cf.Name, Type: def.Name}
	if def.Kind != ast.Object {
		return d, fmt.Errorf("%s is marked @dataset but is not an object type", def.Name)
	}
	if want := strings.ToUpper(cf.Name[:1]) + cf.Name[1:]; def.Name != want {
		return d, fmt.Errorf("Citizen.%s has type %s, want %s (the field's name with an upper-case initial)", cf.Name, def.Name, want)
	}
	args := dir.ArgumentMap(nil)
	d.Owner, _ = args["owner"].(string)
	d.AdminPurpose, _ = args["adminPurpose"].(string)
	d.List, _ = args["list"].(bool)
	if d.Owner == "" || d.AdminPurpose == "" {
		return d, fmt.Errorf("%s: @dataset needs a non-empty owner and adminPurpose", def.Name)
	}
	if isList := cf.Type.Elem != nil; isList != d.List || cf.Type.NonNull || (isList && !cf.Type.Elem.NonNull) {
		want := def.Name
		if d.List {
			want = "[" + def.Name + "!]"
		}
		return d, fmt.Errorf("Citizen.%s has type %s, want %s (@dataset list: %v; a denied dataset is null)", cf.Name, cf.Type, want, d.List)
	}

	in := s.Types[def.Name+"Input"]
	if in == nil || in.Kind != ast.InputObject {
		return d, fmt.Errorf("%s has no input type %sInput", def.Name, def.Name)
	}
	var objNames, inNames []string
	for _, fd := range def.Fields {
		if !strings.HasPrefix(fd.Name, "__") {
			objNames = append(objNames, fd.Name)
		}
	}
	for _, fd := range in.Fields {
		inNames = append(inNames, fd.Name)
	}
	if !slices.Equal(objNames, inNames) {
		return d, fmt.Errorf("input %sInput has fields %v, want those of %s, in its order: %v", def.Name, inNames, def.Name, objNames)
	}
	for _, name := range objNames {
		f, err := readField(s, def, def.Fields.ForName(name), in.Fields.ForName(name))
		if err != nil {
			return d, err
		}
		d.Fields = append(d.Fields, f)
	}

	mut := s.Mutation.Fields.ForName("update" + def.Name)
	if mut == nil {
		return d, fmt.Errorf("Mutation has no field update%s", def.Name)
	}
	want := def.Name + "Input!"
	if d.List {
		want = "[" + want + "]!"
	}
	if arg := mut.Arguments.ForName("input"); arg == nil || arg.Type.String() != want {
		return d, fmt.Errorf("update%s needs an argument input: %s", def.Name, want)
	}
	return d, nil
}

func readField(s *ast.Schema, def *ast.Definition, fd, in *ast.FieldDefinition) (field, error) {
	where := def.Name + "." + fd.Name
	f := field{Name: fd.Name, Type: fd.Type.String(), Input: in.Type.String(), Sensitive: fd.Directives.ForName("sensitive") != nil}
	if fd.Type.NonNull || in.Type.NonNull {
		return f, fmt.Errorf("%s: %s and its input field have types %s and %s, want nullable types (a field may be unset)", where, where, fd.Type, in.Type)
	}
	if len(fd.Arguments) > 0 {
		return f, fmt.Errorf("%s: a dataset field takes no arguments", where)
	}
	plain := f.Type
	if sv, sealed := sealedValue[f.Type]; sealed || f.Sensitive {
		if !sealed || !f.Sensitive {
			return f, fmt.Errorf("%s has type %s: a sensitive field (and only one) is marked @sensitive and has a type SealedString, SealedInt or SealedDate", where, f.Type)
		}
		f.Kind, plain = sv.kind, sv.value
	} else if def := s.Types[f.Type]; def != nil && def.Kind == ast.Enum {
		f.Kind = "Enum"
		for _, v := range def.EnumValues {
			f.Enum = append(f.Enum, v.Name)
		}
	} else if k, ok := plainKinds[f.Type]; ok {
		f.Kind = k
	} else {
		return f, fmt.Errorf("%s has type %s, which the catalog has no kind for", where, f.Type)
	}
	if f.Input != plain {
		return f, fmt.Errorf("input field %sInput.%s has type %s, want %s", def.Name, fd.Name, f.Input, plain)
	}
	return f, nil
}
