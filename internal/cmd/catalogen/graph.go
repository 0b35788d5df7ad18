package main

import (
	"bytes"
	"fmt"

	"github.com/99designs/gqlgen/codegen/templates"
)

// released names, by the GraphQL type of a dataset object's field, the helper of package graph
// (fields.go) that turns a released hub.FieldValue into the model field gqlgen generates for it.
var released = map[string]string{
	"String":       "plain[string]",
	"Date":         "plain[string]",
	"Int":          "plainInt",
	"Int64":        "plain[int64]",
	"Float":        "plain[float64]",
	"Boolean":      "plain[bool]",
	"[String!]":    "plainList",
	"SealedString": "sealedString",
	"SealedInt":    "sealedInt",
	"SealedDate":   "sealedDate",
}

// inputValue is the expression, by the GraphQL type of an input field, that turns the non-nil
// model input field x into a value of package dataset's conventions.
func inputValue(typ, x string) string {
	switch typ {
	case "Int":
		return "int64(*" + x + ")" // package dataset holds every integer as an int64
	case "[String!]":
		return x
	}
	return "*" + x
}

// graphFile is package graph's catalog_gen.go: for each dataset, the update input to the hub's
// items, and the released values to the gqlgen model; and the citizen model from a hub view.
func graphFile(c *catalog) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString(`package graph

import (
	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// citizenModel turns what the hub released of one citizen into the GraphQL objects, dataset by
// dataset: one the caller did not ask for, or without a record, stays nil; a denied one is marked
// on the citizen.
func citizenModel(v *hub.CitizenView) (*model.Citizen, error) {
	c, asked := newCitizen(v)
`)
	for _, d := range c.Datasets {
		goName := templates.ToGo(d.Name)
		fmt.Fprintf(&b, "\tif items, ok := released(c, v, asked, %q); ok {\n", d.Name)
		if d.List {
			fmt.Fprintf(&b, "\t\tc.%s = make([]model.%s, len(items))\n", goName, d.Type)
			b.WriteString("\t\tfor i, item := range items {\n\t\t\tvar err error\n")
			fmt.Fprintf(&b, "\t\t\tif c.%s[i], err = %sModel(item, v.Levels); err != nil {\n\t\t\t\treturn nil, err\n\t\t\t}\n\t\t}\n", goName, d.Name)
		} else {
			fmt.Fprintf(&b, "\t\tm, err := %sModel(first(items), v.Levels)\n", d.Name)
			fmt.Fprintf(&b, "\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\tc.%s = &m\n", goName)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\treturn c, nil\n}\n")

	for _, d := range c.Datasets {
		what := "one " + d.Name + " record"
		if d.List {
			what = "one item of a " + d.Name + " record"
		}
		fmt.Fprintf(&b, "\n// %sModel is %s as the caller may see it: the released values, and the marks of the\n", d.Name, what)
		b.WriteString("// fields denied or revealed at their levels.\n")
		fmt.Fprintf(&b, "func %sModel(item map[string]hub.FieldValue, levels map[string]policy.Level) (model.%s, error) {\n", d.Name, d.Type)
		fmt.Fprintf(&b, "\tm := model.%s{Visibility: newVisibility()}\n\tvar err error\n", d.Type)
		for _, f := range d.Fields {
			path := d.Name + "." + f.Name
			fmt.Fprintf(&b, "\tif fv, ok := release(&m.Visibility, levels, item, %q, %q); ok {\n", path, f.Name)
			helper := released[f.Type]
			if f.Kind == "Enum" {
				helper = "plain[string]"
			}
			fmt.Fprintf(&b, "\t\tif m.%s, err = %s(fv, %q); err != nil {\n\t\t\treturn m, err\n\t\t}\n\t}\n", templates.ToGo(f.Name), helper, path)
		}
		b.WriteString("\treturn m, nil\n}\n")
	}

	for _, d := range c.Datasets {
		in := "model." + d.Type + "Input"
		fmt.Fprintf(&b, "\n// %sItems turns update%s's input into the hub's items, in package dataset's conventions.\n", d.Name, d.Type)
		if d.List {
			fmt.Fprintf(&b, "func %sItems(in []%s) []map[string]any {\n", d.Name, in)
			b.WriteString("\titems := make([]map[string]any, len(in))\n\tfor i := range in {\n")
			fmt.Fprintf(&b, "\t\titems[i] = %sItem(&in[i])\n\t}\n\treturn items\n}\n", d.Name)
		} else {
			fmt.Fprintf(&b, "func %sItems(in %s) []map[string]any {\n", d.Name, in)
			fmt.Fprintf(&b, "\treturn []map[string]any{%sItem(&in)}\n}\n", d.Name)
		}
		fmt.Fprintf(&b, "\n// %sItem is one item of %sItems: a null or absent field is left out, so it keeps its stored value.\n", d.Name, d.Name)
		fmt.Fprintf(&b, "func %sItem(in *%s) map[string]any {\n\titem := make(map[string]any, %d)\n", d.Name, in, len(d.Fields))
		for _, f := range d.Fields {
			x := "in." + templates.ToGo(f.Name)
			typ := f.Input
			if f.Kind == "Enum" {
				typ = "String"
			}
			fmt.Fprintf(&b, "\tif %s != nil {\n\t\titem[%q] = %s\n\t}\n", x, f.Name, inputValue(typ, x))
		}
		b.WriteString("\treturn item\n}\n")
	}
	return b.Bytes()
}
