package dataset

import "slices"

// The validation rules that schema.graphql cannot state, attached to the generated catalog by name:
// fieldRules by "dataset.field", datasetRules by dataset. This is the one place they are written;
// TestRulesNameCatalogFields checks that every name here is in the catalog and that each rule fits
// its field's kind. A field without an entry is checked for its kind only (and, for text, the
// rules every string follows).

// fieldRule holds a field's rules beyond its kind.
type fieldRule struct {
	text   textLimit // String and StringList elements
	items  int       // StringList: at most this many elements
	ints   intRange
	floats floatRange
	past   bool               // Date: not in the future
	format func(string) error // String: identifier or value-set check
}

// datasetRule holds a dataset's rules across fields and items.
type datasetRule struct {
	key   string                            // List: field whose values are unique within a record
	cross func(item map[string]any) []error // rules across fields, run on otherwise valid items
}

var fieldRules = map[string]fieldRule{
	"identity.name":       {text: nameText},
	"identity.hukouCity":  {text: nameText},
	"identity.nationalId": {text: nameText, format: CheckNationalID},
	"identity.birthDate":  {past: true},
	"identity.address":    {text: addressText},

	"marriage.spouseCitizenId": {text: nameText, format: CheckCitizenID},
	"marriage.registeredOn":    {past: true},

	"socialInsurance.employer":           {text: nameText},
	"socialInsurance.contributionMonths": {ints: intRange{true, 0, 1200}},
	"socialInsurance.monthlyBase":        {ints: nonNegative},

	"tax.year":         {ints: intRange{true, 1990, 2100}},
	"tax.annualIncome": {ints: nonNegative},
	"tax.taxPaid":      {ints: nonNegative},

	"property.certificateNo": {text: nameText},
	"property.city":          {text: nameText},
	"property.area":          {floats: floatRange{true, 0, 100000}},
	"property.address":       {text: addressText},
	"property.acquiredOn":    {past: true},

	"businessLicense.uscc":                {text: nameText, format: CheckUSCC},
	"businessLicense.companyName":         {text: nameText},
	"businessLicense.legalRepresentative": {text: nameText},
	"businessLicense.registeredCapital":   {ints: nonNegative},

	"health.bloodType":         {text: nameText, format: checkBloodType},
	"health.chronicConditions": {text: freeText},
	"health.vaccinations":      {text: nameText, items: 64},
}

var datasetRules = map[string]datasetRule{
	"identity":        {cross: identityRules},
	"marriage":        {cross: marriageRules},
	"tax":             {cross: taxRules},
	"property":        {key: "certificateNo"},
	"businessLicense": {key: "uscc"},
}

// textLimit bounds a string's length in runes.
type textLimit struct{ min, max int }

var (
	nameText    = textLimit{1, 64}
	addressText = textLimit{1, 256}
	freeText    = textLimit{0, 1024}
)

// intRange bounds an Int; set reports whether it applies.
type intRange struct {
	set      bool
	min, max int64
}

var nonNegative = intRange{true, 0, 1<<63 - 1}

// floatRange bounds a Float: min < v ≤ max.
type floatRange struct {
	set      bool
	min, max float64
}

// BloodTypes are the values of health.bloodType.
func BloodTypes() []string {
	return []string{"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"}
}

func checkBloodType(s string) error {
	if !slices.Contains(BloodTypes(), s) {
		return invalid("must be one of A+ A- B+ B- AB+ AB- O+ O-")
	}
	return nil
}
