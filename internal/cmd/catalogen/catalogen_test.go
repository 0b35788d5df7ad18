package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesAreCurrent regenerates the catalog in memory from the schema in the tree and
// compares it, byte for byte, with the committed files: run go generate ./... after a schema edit.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	src, err := os.ReadFile("../../../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	out, err := generate(string(src))
	if err != nil {
		t.Fatalf("generate(schema.graphql) = %v", err)
	}
	for path, want := range map[string][]byte{"dataset/catalog_gen.go": out.dataset, "graph/catalog_gen.go": out.graph} {
		got, err := os.ReadFile("../../../" + path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./...", path)
		}
	}
}

// gqlgenOutput are the files gqlgen writes (gqlgen.yml).
var gqlgenOutput = []string{"graph/generated.go", "graph/model/models_gen.go", "graph/schema.resolvers.go"}

// TestGqlgenOutputIsCurrent runs gqlgen on a copy of the module in a temporary directory and
// compares what it writes, byte for byte, with the committed files: run go generate ./... after
// editing schema.graphql or gqlgen.yml. It takes some seconds; -short skips it.
func TestGqlgenOutputIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gqlgen on a copy of the module")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), "govhub-data") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "tool", "gqlgen", "generate")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool gqlgen generate: %v\n%s", err, out)
	}
	for _, path := range gqlgenOutput {
		want, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./...", path)
		}
	}
}

// base is a small schema that follows the catalog's conventions; the cases of TestReadRefuses
// break them one at a time.
const base = `
directive @sensitive on FIELD_DEFINITION
directive @dataset(owner: String!, adminPurpose: String!, list: Boolean! = false) on OBJECT
scalar Date
scalar Int64
type Query { citizen: Citizen }
type Mutation {
  updateTax(input: TaxInput!): Int
  updateProperty(input: [PropertyInput!]!): Int
}
type Citizen { id: ID!, tax: Tax, property: [Property!] }
type Tax @dataset(owner: "tax", adminPurpose: "tax-administration") {
  year: Int
  annualIncome: SealedInt @sensitive
}
input TaxInput { year: Int, annualIncome: Int64 }
type Property @dataset(owner: "natural-resources", adminPurpose: "property-registration", list: true) {
  city: String
  status: Status
  acquiredOn: Date
}
input PropertyInput { city: String, status: Status, acquiredOn: Date }
enum Status { ACTIVE REVOKED }
type SealedInt { value: Int64 }
`

func TestRead(t *testing.T) {
	c, err := load("base", base)
	if err != nil {
		t.Fatalf("load(base) = %v", err)
	}
	var got []string
	for _, d := range c.Datasets {
		s := d.Name + "(" + d.Type + " " + d.Owner + " " + d.AdminPurpose
		if d.List {
			s += " list"
		}
		s += "):"
		for _, f := range d.Fields {
			s += " " + f.Name + ":" + f.Kind
			if f.Sensitive {
				s += "*"
			}
			if len(f.Enum) > 0 {
				s += "(" + strings.Join(f.Enum, " ") + ")"
			}
		}
		got = append(got, s)
	}
	want := []string{
		"tax(Tax tax tax-administration): year:Int annualIncome:Int*",
		"property(Property natural-resources property-registration list): city:String status:Enum(ACTIVE REVOKED) acquiredOn:Date",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("load(base) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReadRefuses(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"no owner", `owner: "tax", `, `owner: "", `, "non-empty owner"},
		{"type not named like the field", `tax: Tax,`, `taxes: Tax,`, "want Taxes"},
		{"list-ness differs", `property: [Property!]`, `property: Property`, "want [Property!]"},
		{"non-null dataset", `tax: Tax,`, `tax: Tax!,`, "a denied dataset is null"},
		{"marked but not held", `type SealedInt {`, `type Vehicle @dataset(owner: "x", adminPurpose: "y") { plate: String }
type SealedInt {`, "no field of Citizen holds it"},
		{"input lacks a field", `input TaxInput { year: Int, annualIncome: Int64 }`, `input TaxInput { year: Int }`, "want those of Tax"},
		{"input type differs", `input TaxInput { year: Int, annualIncome: Int64 }`, `input TaxInput { year: Int, annualIncome: Int }`, "want Int64"},
		{"no input type", `input TaxInput { year: Int, annualIncome: Int64 }`, ``, "Undefined type TaxInput"},
		{"no update mutation", `updateTax(input: TaxInput!): Int`, `setTax(input: TaxInput!): Int`, "no field updateTax"},
		{"update takes a list", `updateTax(input: TaxInput!)`, `updateTax(input: [TaxInput!]!)`, "input: TaxInput!"},
		{"sealed without @sensitive", `annualIncome: SealedInt @sensitive`, `annualIncome: SealedInt`, "marked @sensitive"},
		{"@sensitive on a plain type", `year: Int`, `year: Int @sensitive`, "marked @sensitive"},
		{"non-null field", `year: Int
`, `year: Int!
`, "want nullable types"},
		{"type without a kind", `city: String`, `city: [Int!]`, "no kind for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("base has no %q", tt.old)
			}
			src := strings.Replace(base, tt.old, tt.new, 1)
			_, err := load("base", src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load(base with %s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}
