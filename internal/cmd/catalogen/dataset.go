package main

import (
	"bytes"
	"fmt"
	"strconv"
)

// datasetFile is package dataset's catalog_gen.go: the catalog as static data.
func datasetFile(c *catalog) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package dataset\n\n")
	b.WriteString("// catalog holds the datasets in catalog order, the order of Citizen's fields in schema.graphql.\n")
	b.WriteString("// Each field's validation rules beyond its kind come from fieldRules, each dataset's from\n")
	b.WriteString("// datasetRules (rules.go), by name.\n")
	b.WriteString("var catalog = [...]Dataset{\n")
	for _, d := range c.Datasets {
		fmt.Fprintf(&b, "\t{\n\t\tName: %q,\n\t\tOwner: %q,\n\t\tAdminPurpose: %q,\n", d.Name, d.Owner, d.AdminPurpose)
		if d.List {
			b.WriteString("\t\tList: true,\n")
		}
		b.WriteString("\t\tFields: []Field{\n")
		for _, f := range d.Fields {
			fmt.Fprintf(&b, "\t\t\t{Name: %q, Kind: %s", f.Name, f.Kind)
			if f.Sensitive {
				b.WriteString(", Sensitive: true")
			}
			if len(f.Enum) > 0 {
				b.WriteString(", Enum: []string{")
				for i, v := range f.Enum {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(strconv.Quote(v))
				}
				b.WriteString("}")
			}
			fmt.Fprintf(&b, ", dataset: %q, rule: fieldRules[%q]},\n", d.Name, d.Name+"."+f.Name)
		}
		b.WriteString("\t\t},\n")
		fmt.Fprintf(&b, "\t\trule: datasetRules[%q],\n\t},\n", d.Name)
	}
	b.WriteString("}\n")
	return b.Bytes()
}
