// Package dataset is the catalog of the data GovHub shares: which datasets
// exist, which department owns each, which fields they hold, which of those
// fields are sensitive, and how a value is validated before it is stored.
//
// # The catalog
//
// Seven datasets, in this order ([All]); "*" marks a sensitive field, which
// is sealed at rest and handed out as a commitment unless a policy reveals it:
//
//	dataset          owner              list  admin purpose
//	identity         public-security    no    identity-verification
//	  name String, gender Enum(MALE FEMALE), hukouCity String,
//	  nationalId* String (GB 11643), birthDate* Date, address* String
//	marriage         civil-affairs      no    marriage-registration
//	  maritalStatus Enum(SINGLE MARRIED DIVORCED WIDOWED),
//	  spouseCitizenId* String (citizen id, C000002), registeredOn Date
//	socialInsurance  hrss               no    social-insurance-administration
//	  insured Bool, employer String, contributionMonths* Int (0..1200),
//	  monthlyBase* Int (≥ 0, yuan)
//	tax              tax                no    tax-administration
//	  year Int (1990..2100), annualIncome* Int (≥ 0, yuan), taxPaid* Int (≥ 0, yuan)
//	property         natural-resources  yes   property-registration
//	  certificateNo String, city String, area Float (m², > 0, ≤ 100000),
//	  address* String, acquiredOn Date
//	businessLicense  market-regulation  yes   business-registration
//	  uscc String (GB 32100), companyName String, legalRepresentative String,
//	  registeredCapital Int (≥ 0, yuan), status Enum(ACTIVE SUSPENDED REVOKED CANCELLED)
//	health           health             no    medical-treatment
//	  bloodType* String (A+ A- B+ B- AB+ AB- O+ O-), chronicConditions* String
//	  (free text, may be empty), vaccinations StringList
//
// # Go values
//
// Every package that handles citizen data uses these Go types for field
// values, and [Field.Validate] accepts exactly these types (an int where an
// int64 is due is refused, so that conversions happen once, at the edges):
//
//	Kind        Go type    form
//	String      string     valid UTF-8, trimmed, no control characters
//	Enum        string     one of Field.Enum, upper case: "MARRIED"
//	Date        string     ISO calendar date "YYYY-MM-DD", not before 1900-01-01: "1949-12-31"
//	Int         int64
//	Float       float64    finite
//	Bool        bool
//	StringList  []string   each element a String
//
// A record of a dataset for one citizen is one or more items (exactly one for
// a dataset that is not a list). An item is a map[string]any from field name
// to value; a missing key means "not set". A nil value is invalid: to leave a
// field unset, leave its key out.
//
// Text limits: person, company and place names, certificate numbers and list
// elements are 1 to 64 characters (runes); addresses 1 to 256; free text 0 to
// 1024. Birth, registration and acquisition dates may not lie in the future.
//
// # Identifiers
//
// [CheckNationalID] checks a resident identity number (GB 11643-1999),
// [CheckUSCC] a unified social credit code (GB 32100-2015) and
// [CheckCitizenID] a GovHub citizen id. They return a [*ValidationError]
// with an empty Field, whose Reason names the rule broken; [Field.Validate]
// returns the same reason with the field filled in, for example
//
//	identity.nationalId: check character is 5, want X
//
// # Where it is declared
//
// schema.graphql declares the catalog: the dataset types carry
// @dataset(owner, adminPurpose, list), the sensitive fields @sensitive, and
// the GraphQL types give the kinds. catalog_gen.go is generated from it by
// internal/cmd/catalogen (go generate ./...); the validation rules the schema
// cannot state (ranges, text limits, identifier formats, rules across fields)
// are attached by name in rules.go.
//
// # Use
//
// [All] and [Lookup] return pointers into the catalog, a static value that
// no one modifies: callers must treat what they get as read-only. Nothing in
// this package holds mutable state; everything is safe for concurrent use.
package dataset

import (
	"fmt"
	"strings"
)

// Kind is the type of a field's values; see the package documentation for
// the Go type of each kind.
type Kind int

// The kinds. The zero Kind is not a valid kind.
const (
	String Kind = iota + 1
	Int
	Float
	Bool
	Date
	Enum
	StringList
)

var kindNames = [...]string{
	String:     "String",
	Int:        "Int",
	Float:      "Float",
	Bool:       "Bool",
	Date:       "Date",
	Enum:       "Enum",
	StringList: "StringList",
}

// String returns the kind's name as used in the GraphQL schema and in these
// docs: "String", "Int", "StringList"…
func (k Kind) String() string {
	if k >= String && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Field describes one field of a dataset. Fields obtained from [All] or
// [Lookup] carry validation rules beyond their kind (ranges, text limits,
// identifier formats); a Field built by hand is checked for its kind and
// Enum only.
type Field struct {
	Name      string
	Kind      Kind
	Sensitive bool     // sealed at rest, handed out as a commitment unless revealed
	Enum      []string // the allowed values of an Enum field, in schema order

	dataset string    // owning dataset's name, for error messages
	rule    fieldRule // rules beyond the kind (rules.go)
}

// Path returns the field's name qualified by its dataset, "tax.annualIncome",
// as used in policy objects and error messages. A Field built by hand has
// only its Name.
func (f *Field) Path() string {
	if f.dataset == "" {
		return f.Name
	}
	return f.dataset + "." + f.Name
}

// Dataset describes one dataset: its name, the department that owns it, the
// administration purpose under which the owner reads it, whether a citizen's
// record is a list of items, and its fields in schema order.
type Dataset struct {
	Name         string
	Owner        string // department code
	AdminPurpose string // purpose code
	List         bool
	Fields       []Field

	rule datasetRule // rules across fields and items (rules.go)
}

// Field returns the field called name.
func (d *Dataset) Field(name string) (*Field, bool) {
	for i := range d.Fields {
		if d.Fields[i].Name == name {
			return &d.Fields[i], true
		}
	}
	return nil, false
}

// Names returns the dataset names in catalog order, in a new slice.
func Names() []string {
	names := make([]string, len(catalog))
	for i := range catalog {
		names[i] = catalog[i].Name
	}
	return names
}

// All returns the datasets in catalog order: pointers into the catalog, which
// callers must not modify.
func All() []*Dataset {
	all := make([]*Dataset, len(catalog))
	for i := range catalog {
		all[i] = &catalog[i]
	}
	return all
}

// Lookup returns the dataset called name: a pointer into the catalog, which
// callers must not modify.
func Lookup(name string) (*Dataset, bool) {
	for i := range catalog {
		if catalog[i].Name == name {
			return &catalog[i], true
		}
	}
	return nil, false
}

// Sensitive reports whether path ("dataset.field") names a sensitive field, and known whether it
// names a field of the catalog at all. The policy engine asks it which fields can be committed.
func Sensitive(path string) (sensitive, known bool) {
	ds, f, ok := strings.Cut(path, ".")
	if !ok {
		return false, false
	}
	d, ok := Lookup(ds)
	if !ok {
		return false, false
	}
	fl, ok := d.Field(f)
	if !ok {
		return false, false
	}
	return fl.Sensitive, true
}

// Catalog presents the datasets to the policy package (its Catalog interface): which datasets
// exist, and which fields, sensitive or not.
type Catalog struct{}

// Datasets returns the dataset names.
func (Catalog) Datasets() []string { return Names() }

// Field reports whether path ("dataset.field") is sensitive, and whether it exists.
func (Catalog) Field(path string) (sensitive, known bool) { return Sensitive(path) }

// FieldPaths returns every "dataset.field" of the catalog, dataset by dataset.
func FieldPaths() []string {
	var out []string
	for _, d := range All() {
		for _, f := range d.Fields {
			out = append(out, d.Name+"."+f.Name)
		}
	}
	return out
}
