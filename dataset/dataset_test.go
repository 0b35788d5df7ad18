package dataset

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	// The catalog as the task and ARCHITECTURE §8 give it: "name:Kind" with a
	// trailing "*" for sensitive fields, in schema order. Every dataset and
	// every field listed must be there as listed; a dataset may gain fields
	// (one schema edit plus go generate), which follow the listed ones.
	want := []struct {
		name, owner, purpose string
		list                 bool
		fields               string
	}{
		{"identity", "public-security", "identity-verification", false,
			"name:String gender:Enum hukouCity:String nationalId:String* birthDate:Date* address:String*"},
		{"marriage", "civil-affairs", "marriage-registration", false,
			"maritalStatus:Enum spouseCitizenId:String* registeredOn:Date"},
		{"socialInsurance", "hrss", "social-insurance-administration", false,
			"insured:Bool employer:String contributionMonths:Int* monthlyBase:Int*"},
		{"tax", "tax", "tax-administration", false,
			"year:Int annualIncome:Int* taxPaid:Int*"},
		{"property", "natural-resources", "property-registration", true,
			"certificateNo:String city:String area:Float address:String* acquiredOn:Date"},
		{"businessLicense", "market-regulation", "business-registration", true,
			"uscc:String companyName:String legalRepresentative:String registeredCapital:Int status:Enum"},
		{"health", "health", "medical-treatment", false,
			"bloodType:String* chronicConditions:String* vaccinations:StringList"},
	}
	all := All()
	if len(all) != len(want) {
		t.Fatalf("len(All()) = %d, want %d", len(all), len(want))
	}
	if got := Names(); len(got) != len(want) {
		t.Fatalf("len(Names()) = %d, want %d", len(got), len(want))
	}
	for i, w := range want {
		d := all[i]
		t.Run(w.name, func(t *testing.T) {
			var fs []string
			for _, f := range d.Fields {
				s := f.Name + ":" + f.Kind.String()
				if f.Sensitive {
					s += "*"
				}
				fs = append(fs, s)
			}
			listed := len(strings.Fields(w.fields))
			if len(fs) < listed {
				t.Fatalf("%s has %d fields, want at least the %d listed", d.Name, len(fs), listed)
			}
			got := struct {
				name, owner, purpose string
				list                 bool
				fields               string
			}{d.Name, d.Owner, d.AdminPurpose, d.List, strings.Join(fs[:listed], " ")}
			if got != w {
				t.Errorf("All()[%d] = %+v, want %+v", i, got, w)
			}
			if n := Names()[i]; n != w.name {
				t.Errorf("Names()[%d] = %q, want %q", i, n, w.name)
			}
			l, ok := Lookup(w.name)
			if !ok || l.Name != w.name || len(l.Fields) != len(d.Fields) {
				t.Errorf("Lookup(%q) = %v, %v, want the dataset", w.name, l, ok)
			}
			for _, f := range d.Fields {
				if got := f.Path(); got != w.name+"."+f.Name {
					t.Errorf("Path() = %q, want %q", got, w.name+"."+f.Name)
				}
				if (f.Kind == Enum) != (len(f.Enum) > 0) {
					t.Errorf("%s: Kind %v with Enum %v", f.Path(), f.Kind, f.Enum)
				}
			}
		})
	}
}

func TestEnums(t *testing.T) {
	tests := []struct{ field, want string }{
		{"identity.gender", "MALE FEMALE"},
		{"marriage.maritalStatus", "SINGLE MARRIED DIVORCED WIDOWED"},
		{"businessLicense.status", "ACTIVE SUSPENDED REVOKED CANCELLED"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			f := field(t, tt.field)
			if got := strings.Join(f.Enum, " "); got != tt.want {
				t.Errorf("%s.Enum = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "Identity", "identity.name", "vehicles"} {
		if d, ok := Lookup(name); ok || d != nil {
			t.Errorf("Lookup(%q) = %v, %v, want nil, false", name, d, ok)
		}
	}
	d, _ := Lookup("tax")
	if f, ok := d.Field("income"); ok || f != nil {
		t.Errorf("Field(%q) = %v, %v, want nil, false", "income", f, ok)
	}
}

// TestLookupReturnsCatalog checks that All and Lookup hand out the catalog itself (pointers into
// the generated static data, built once, never per call), and that Names hands out a copy, so a
// caller changing it changes nothing for others.
func TestLookupReturnsCatalog(t *testing.T) {
	all := All()
	for i, name := range Names() {
		d, ok := Lookup(name)
		if !ok || d != all[i] || d != &catalog[i] {
			t.Errorf("Lookup(%q) = %p, %v, want All()[%d] = %p, the catalog's entry", name, d, ok, i, all[i])
		}
		if again, _ := Lookup(name); again != d {
			t.Errorf("Lookup(%q) twice = %p, %p, want the same pointer", name, d, again)
		}
		for j := range d.Fields {
			if f, ok := d.Field(d.Fields[j].Name); !ok || f != &d.Fields[j] {
				t.Errorf("%s.Field(%q) = %p, want &Fields[%d]", name, d.Fields[j].Name, f, j)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { Lookup("health") }); n != 0 {
		t.Errorf("Lookup allocates %v times, want 0", n)
	}

	names := Names()
	names[0] = "changed"
	if got := Names()[0]; got != "identity" {
		t.Errorf("Names()[0] after a caller's change = %q, want identity", got)
	}
}

// TestRulesNameCatalogFields checks the hand-written rules of rules.go against the generated
// catalog: every name is a dataset or field of the catalog, and every rule fits its field's kind
// (a text limit on a String or StringList, a range on an Int or Float, a format on a String, a
// key on a field of a list dataset).
func TestRulesNameCatalogFields(t *testing.T) {
	for path, r := range fieldRules {
		ds, name, _ := strings.Cut(path, ".")
		d, ok := Lookup(ds)
		if !ok {
			t.Errorf("fieldRules[%q]: no dataset %s", path, ds)
			continue
		}
		f, ok := d.Field(name)
		if !ok {
			t.Errorf("fieldRules[%q]: dataset %s has no field %s", path, ds, name)
			continue
		}
		if f.rule.text != r.text || f.rule.ints != r.ints || f.rule.floats != r.floats || f.rule.past != r.past ||
			f.rule.items != r.items || (f.rule.format == nil) != (r.format == nil) {
			t.Errorf("%s carries rule %+v, want fieldRules' %+v", path, f.rule, r)
		}
		fits := map[Kind]bool{}
		switch {
		case r.text != (textLimit{}):
			fits = map[Kind]bool{String: true, StringList: true}
		case r.format != nil:
			fits = map[Kind]bool{String: true}
		case r.ints.set:
			fits = map[Kind]bool{Int: true}
		case r.floats.set:
			fits = map[Kind]bool{Float: true}
		case r.past:
			fits = map[Kind]bool{Date: true}
		case r.items > 0:
			fits = map[Kind]bool{StringList: true}
		default:
			t.Errorf("fieldRules[%q] is empty", path)
			continue
		}
		if !fits[f.Kind] || (r.format != nil && f.Kind != String) || (r.items > 0 && f.Kind != StringList) ||
			(r.ints.set && f.Kind != Int) || (r.floats.set && f.Kind != Float) || (r.past && f.Kind != Date) {
			t.Errorf("fieldRules[%q] = %+v does not fit a %v field", path, r, f.Kind)
		}
	}
	for name, r := range datasetRules {
		d, ok := Lookup(name)
		if !ok {
			t.Errorf("datasetRules[%q]: no such dataset", name)
			continue
		}
		if d.rule.key != r.key || (d.rule.cross == nil) != (r.cross == nil) {
			t.Errorf("%s carries rule %+v, want datasetRules' %+v", name, d.rule, r)
		}
		if r.key != "" {
			if _, ok := d.Field(r.key); !ok || !d.List {
				t.Errorf("datasetRules[%q].key = %q: want a field of a list dataset", name, r.key)
			}
		}
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{String, "String"}, {Int, "Int"}, {Float, "Float"}, {Bool, "Bool"},
		{Date, "Date"}, {Enum, "Enum"}, {StringList, "StringList"},
		{0, "Kind(0)"}, {99, "Kind(99)"}, {-1, "Kind(-1)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}

// field returns the catalog field at path "dataset.field".
func field(t *testing.T, path string) *Field {
	t.Helper()
	ds, fn, _ := strings.Cut(path, ".")
	d, ok := Lookup(ds)
	if !ok {
		t.Fatalf("Lookup(%q) failed", ds)
	}
	f, ok := d.Field(fn)
	if !ok {
		t.Fatalf("Field(%q) failed", fn)
	}
	return f
}

func TestFieldValidate(t *testing.T) {
	tests := []struct {
		field string
		v     any
		want  string // reason, "" for valid
	}{
		// Kinds.
		{"identity.name", "张三", ""},
		{"identity.name", 42, "must be a string, not int"},
		{"identity.name", nil, "must not be nil (omit the field to leave it unset)"},
		{"identity.name", []byte("张三"), "must be a string, not []uint8"},
		{"tax.year", int64(2024), ""},
		{"tax.year", 2024, "must be an int64, not int"},
		{"tax.year", int32(2024), "must be an int64, not int32"},
		{"tax.year", 2024.0, "must be an int64, not float64"},
		{"property.area", 89.5, ""},
		{"property.area", float32(89.5), "must be a float64, not float32"},
		{"property.area", int64(90), "must be a float64, not int64"},
		{"socialInsurance.insured", true, ""},
		{"socialInsurance.insured", "true", "must be a bool, not string"},
		{"health.vaccinations", []string{"乙肝疫苗", "新冠疫苗"}, ""},
		{"health.vaccinations", []string{}, ""},
		{"health.vaccinations", []any{"乙肝疫苗"}, "must be a []string, not []interface {}"},
		{"health.vaccinations", "乙肝疫苗", "must be a []string, not string"},
		{"marriage.registeredOn", "2010-05-20", ""},
		{"marriage.registeredOn", int64(20100520), "must be a date string, not int64"},

		// Strings.
		{"identity.name", "", "must not be empty"},
		{"identity.name", " 张三", "must not begin or end with white space"},
		{"identity.name", "张三\u3000", "must not begin or end with white space"},
		{"identity.name", "张\t三", "must not contain control characters"},
		{"identity.name", "张三\n", "must not contain control characters"},
		{"identity.name", "张\u2028三", "must not contain control characters"},
		{"identity.name", "张\x00三", "must not contain control characters"},
		{"identity.name", "张\xff三", "must be valid UTF-8"},
		{"identity.name", "欧阳 娜娜", ""},
		{"identity.name", strings.Repeat("张", 64), ""},
		{"identity.name", strings.Repeat("张", 65), "must have at most 64 characters, has 65"},
		{"identity.hukouCity", "杭州市", ""},
		{"identity.hukouCity", strings.Repeat("a", 65), "must have at most 64 characters, has 65"},
		{"identity.address", "浙江省杭州市西湖区文三路138号5幢302室", ""},
		{"identity.address", strings.Repeat("路", 256), ""},
		{"identity.address", strings.Repeat("路", 257), "must have at most 256 characters, has 257"},
		{"identity.address", "", "must not be empty"},
		{"property.address", strings.Repeat("路", 257), "must have at most 256 characters, has 257"},
		{"health.chronicConditions", "", ""},
		{"health.chronicConditions", "高血压、2型糖尿病", ""},
		{"health.chronicConditions", strings.Repeat("病", 1024), ""},
		{"health.chronicConditions", strings.Repeat("病", 1025), "must have at most 1024 characters, has 1025"},
		{"health.chronicConditions", "高血压\n糖尿病", "must not contain control characters"},
		{"businessLicense.companyName", "杭州恒达科技有限公司", ""},
		{"businessLicense.legalRepresentative", "", "must not be empty"},
		{"socialInsurance.employer", " 杭州恒达科技有限公司", "must not begin or end with white space"},
		{"property.certificateNo", "浙(2019)杭州市不动产权第0012345号", ""},

		// Identifier formats.
		{"identity.nationalId", "11010519491231002X", ""},
		{"identity.nationalId", "110105194912310021", "check character is 1, want X"},
		{"identity.nationalId", "11010519491231002x", "check character must be upper-case X, not x"},
		{"identity.nationalId", "", "must not be empty"},
		{"marriage.spouseCitizenId", "C000002", ""},
		{"marriage.spouseCitizenId", "C2", "must be C followed by 6 to 12 digits"},
		{"businessLicense.uscc", "91350100M000100Y43", ""},
		{"businessLicense.uscc", "91350100M000100Y44", "check character is 4, want 3"},
		{"health.bloodType", "AB-", ""},
		{"health.bloodType", "O+", ""},
		{"health.bloodType", "ab-", "must be one of A+ A- B+ B- AB+ AB- O+ O-"},
		{"health.bloodType", "C+", "must be one of A+ A- B+ B- AB+ AB- O+ O-"},

		// Enums.
		{"identity.gender", "FEMALE", ""},
		{"identity.gender", "female", "must be one of MALE, FEMALE"},
		{"identity.gender", "", "must be one of MALE, FEMALE"},
		{"marriage.maritalStatus", "WIDOWED", ""},
		{"marriage.maritalStatus", "ENGAGED", "must be one of SINGLE, MARRIED, DIVORCED, WIDOWED"},
		{"businessLicense.status", "REVOKED", ""},
		{"businessLicense.status", "CLOSED", "must be one of ACTIVE, SUSPENDED, REVOKED, CANCELLED"},

		// Dates.
		{"identity.birthDate", "1949-12-31", ""},
		{"identity.birthDate", "1900-01-01", ""},
		{"identity.birthDate", "2000-02-29", ""},
		{"identity.birthDate", "1899-12-31", "must not be before 1900-01-01"},
		{"identity.birthDate", "1900-02-29", "must be a calendar date"},
		{"identity.birthDate", "2023-02-29", "must be a calendar date"},
		{"identity.birthDate", "2023-04-31", "must be a calendar date"},
		{"identity.birthDate", "2023-13-01", "must be a calendar date"},
		{"identity.birthDate", "2023-00-10", "must be a calendar date"},
		{"identity.birthDate", "2023-01-00", "must be a calendar date"},
		{"identity.birthDate", "2023-1-05", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "20230105", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "2023/01/05", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "2023-01-05T00:00:00Z", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "+023-01-05", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "", "must be a date YYYY-MM-DD"},
		{"identity.birthDate", "2999-01-01", "must not be in the future"},
		{"marriage.registeredOn", "2999-01-01", "must not be in the future"},
		{"property.acquiredOn", "2999-01-01", "must not be in the future"},
		{"property.acquiredOn", "1850-01-01", "must not be before 1900-01-01"},

		// Ints.
		{"tax.year", int64(1990), ""},
		{"tax.year", int64(2100), ""},
		{"tax.year", int64(1989), "must be between 1990 and 2100"},
		{"tax.year", int64(2101), "must be between 1990 and 2100"},
		{"tax.annualIncome", int64(0), ""},
		{"tax.annualIncome", int64(math.MaxInt64), ""},
		{"tax.annualIncome", int64(-1), "must not be negative"},
		{"tax.taxPaid", int64(-100), "must not be negative"},
		{"socialInsurance.contributionMonths", int64(0), ""},
		{"socialInsurance.contributionMonths", int64(1200), ""},
		{"socialInsurance.contributionMonths", int64(1201), "must be between 0 and 1200"},
		{"socialInsurance.contributionMonths", int64(-1), "must not be negative"},
		{"socialInsurance.monthlyBase", int64(-5), "must not be negative"},
		{"businessLicense.registeredCapital", int64(-5), "must not be negative"},
		{"businessLicense.registeredCapital", int64(10_000_000), ""},

		// Floats.
		{"property.area", 0.01, ""},
		{"property.area", 100000.0, ""},
		{"property.area", 0.0, "must be greater than 0"},
		{"property.area", -3.5, "must be greater than 0"},
		{"property.area", 100000.5, "must be at most 100000"},
		{"property.area", math.NaN(), "must be a finite number"},
		{"property.area", math.Inf(1), "must be a finite number"},

		// String lists.
		{"health.vaccinations", []string{"乙肝疫苗", ""}, "element 1: must not be empty"},
		{"health.vaccinations", []string{" 乙肝疫苗"}, "element 0: must not begin or end with white space"},
		{"health.vaccinations", []string{strings.Repeat("苗", 65)}, "element 0: must have at most 64 characters, has 65"},
		{"health.vaccinations", make([]string, 65), "must have at most 64 elements, has 65"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			f := field(t, tt.field)
			err := f.Validate(tt.v)
			if got := reason(t, err); got != tt.want {
				t.Errorf("%s.Validate(%#v) = %q, want %q", tt.field, tt.v, got, tt.want)
			}
			if err != nil {
				var ve *ValidationError
				errors.As(err, &ve)
				if ve.Field != tt.field {
					t.Errorf("%s.Validate(%#v) error Field = %q, want %q", tt.field, tt.v, ve.Field, tt.field)
				}
			}
		})
	}
}

func TestHandBuiltField(t *testing.T) {
	tests := []struct {
		f    Field
		v    any
		want string
	}{
		{Field{Name: "x", Kind: String}, "", ""},
		{Field{Name: "x", Kind: String}, " a", "x: must not begin or end with white space"},
		{Field{Name: "x", Kind: Enum, Enum: []string{"A"}}, "B", "x: must be one of A"},
		{Field{Name: "x", Kind: Int}, int64(-1), ""},
		{Field{Name: "x", Kind: Float}, math.NaN(), "x: must be a finite number"},
		{Field{Name: "x", Kind: Date}, "2999-01-01", ""},
		{Field{Name: "x"}, "a", "x: has unknown kind Kind(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.f.Kind.String(), func(t *testing.T) {
			got := ""
			if err := tt.f.Validate(tt.v); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate(%#v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

// errorStrings splits a joined error into its messages.
func errorStrings(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestValidateItem(t *testing.T) {
	tests := []struct {
		name    string
		dataset string
		item    map[string]any
		want    []string
	}{
		{"identity complete", "identity", map[string]any{
			"name": "张三", "gender": "FEMALE", "hukouCity": "北京市", "nationalId": "11010519491231002X",
			"birthDate": "1949-12-31", "address": "北京市朝阳区建国路88号1幢101室",
		}, nil},
		{"identity empty", "identity", map[string]any{}, nil},
		{"identity nil map", "identity", nil, nil},
		{"identity id without date", "identity", map[string]any{"nationalId": "11010519491231002X", "gender": "FEMALE"}, nil},
		{"identity birth date mismatch", "identity", map[string]any{"nationalId": "11010519491231002X", "birthDate": "1949-12-30"},
			[]string{"identity.birthDate: does not match the birth date in nationalId"}},
		{"identity gender mismatch", "identity", map[string]any{"nationalId": "11010519491231002X", "gender": "MALE"},
			[]string{"identity.gender: does not match nationalId (odd 17th digit is MALE)"}},
		{"identity male", "identity", map[string]any{"nationalId": "53010219200508011X", "gender": "MALE", "birthDate": "1920-05-08"}, nil},
		{"identity both mismatch", "identity", map[string]any{"nationalId": "53010219200508011X", "gender": "FEMALE", "birthDate": "1920-05-09"},
			[]string{
				"identity.birthDate: does not match the birth date in nationalId",
				"identity.gender: does not match nationalId (odd 17th digit is MALE)",
			}},
		{"identity invalid id skips cross rules", "identity", map[string]any{"nationalId": "11010519491231002x", "gender": "MALE"},
			[]string{"identity.nationalId: check character must be upper-case X, not x"}},
		{"unknown fields sorted, then field order", "tax", map[string]any{
			"taxPaid": int64(-1), "year": int64(1900), "zeta": 1, "alpha": 2,
		}, []string{
			"tax.alpha: unknown field",
			"tax.zeta: unknown field",
			"tax.year: must be between 1990 and 2100",
			"tax.taxPaid: must not be negative",
		}},
		{"tax", "tax", map[string]any{"year": int64(2024), "annualIncome": int64(120000), "taxPaid": int64(3480)}, nil},
		{"tax paid equals income", "tax", map[string]any{"annualIncome": int64(1000), "taxPaid": int64(1000)}, nil},
		{"tax paid exceeds income", "tax", map[string]any{"annualIncome": int64(1000), "taxPaid": int64(1001)},
			[]string{"tax.taxPaid: must not exceed annualIncome"}},
		{"tax paid alone", "tax", map[string]any{"taxPaid": int64(1001)}, nil},
		{"married", "marriage", map[string]any{"maritalStatus": "MARRIED", "spouseCitizenId": "C000002", "registeredOn": "2001-10-01"}, nil},
		{"single", "marriage", map[string]any{"maritalStatus": "SINGLE"}, nil},
		{"divorced with spouse", "marriage", map[string]any{"maritalStatus": "DIVORCED", "spouseCitizenId": "C000002"},
			[]string{"marriage.spouseCitizenId: must not be set unless maritalStatus is MARRIED"}},
		{"spouse alone", "marriage", map[string]any{"spouseCitizenId": "C000002"}, nil},
		{"social insurance", "socialInsurance", map[string]any{
			"insured": true, "employer": "杭州恒达科技有限公司", "contributionMonths": int64(120), "monthlyBase": int64(8000),
		}, nil},
		{"property", "property", map[string]any{
			"certificateNo": "浙(2019)杭州市不动产权第0012345号", "city": "杭州市", "area": 89.37,
			"address": "浙江省杭州市西湖区文三路138号5幢302室", "acquiredOn": "2019-03-15",
		}, nil},
		{"business license", "businessLicense", map[string]any{
			"uscc": "91350100M000100Y43", "companyName": "福州恒达贸易有限公司", "legalRepresentative": "张三",
			"registeredCapital": int64(1_000_000), "status": "ACTIVE",
		}, nil},
		{"health", "health", map[string]any{
			"bloodType": "O+", "chronicConditions": "", "vaccinations": []string{"乙肝疫苗", "新冠疫苗", "流感疫苗"},
		}, nil},
		{"field of another dataset", "health", map[string]any{"name": "张三"}, []string{"health.name: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Lookup(tt.dataset)
			err := d.ValidateItem(tt.item)
			if got := errorStrings(err); !slices.Equal(got, tt.want) {
				t.Errorf("%s.ValidateItem(%v) = %q, want %q", tt.dataset, tt.item, got, tt.want)
			}
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Errorf("ValidateItem error %v holds no *ValidationError", err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
				}
			}
		})
	}
}

func TestValidateRecord(t *testing.T) {
	prop := func(no string) map[string]any {
		return map[string]any{"certificateNo": no, "city": "杭州市", "area": 60.0}
	}
	many := make([]map[string]any, MaxItems+1)
	for i := range many {
		many[i] = map[string]any{}
	}
	tests := []struct {
		name    string
		dataset string
		items   []map[string]any
		want    []string
	}{
		{"one item", "tax", []map[string]any{{"year": int64(2024)}}, nil},
		{"no item", "tax", nil, []string{"tax: must have exactly one item, has 0"}},
		{"two items", "tax", []map[string]any{{}, {}}, []string{"tax: must have exactly one item, has 2"}},
		{"bad item", "tax", []map[string]any{{"year": int64(1)}}, []string{"item 0: tax.year: must be between 1990 and 2100"}},
		{"list", "property", []map[string]any{prop("A1"), prop("A2"), prop("A3")}, nil},
		{"empty list", "property", []map[string]any{}, []string{"property: must have at least one item"}},
		{"list too long", "property", many, []string{"property: must have at most 100 items, has 101"}},
		{"list at limit", "health", many[:1], nil},
		{"duplicate key", "property", []map[string]any{prop("A1"), prop("A2"), prop("A1")},
			[]string{"item 2: property.certificateNo: same as item 0"}},
		{"items without key", "property", []map[string]any{{"city": "杭州市"}, {"city": "杭州市"}}, nil},
		{"duplicate uscc", "businessLicense", []map[string]any{{"uscc": "91350100M000100Y43"}, {"uscc": "91350100M000100Y43"}},
			[]string{"item 1: businessLicense.uscc: same as item 0"}},
		{"bad items each reported", "businessLicense", []map[string]any{{"status": "X"}, {}, {"registeredCapital": int64(-1)}},
			[]string{
				"item 0: businessLicense.status: must be one of ACTIVE, SUSPENDED, REVOKED, CANCELLED",
				"item 2: businessLicense.registeredCapital: must not be negative",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Lookup(tt.dataset)
			if got := errorStrings(d.ValidateRecord(tt.items)); !slices.Equal(got, tt.want) {
				t.Errorf("%s.ValidateRecord(%d items) = %q, want %q", tt.dataset, len(tt.items), got, tt.want)
			}
		})
	}
}

func TestBloodTypes(t *testing.T) {
	f := field(t, "health.bloodType")
	for _, b := range BloodTypes() {
		if err := f.Validate(b); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", b, err)
		}
	}
}

func TestSensitive(t *testing.T) {
	for _, tc := range []struct {
		path             string
		sensitive, known bool
	}{
		{"tax.annualIncome", true, true},
		{"tax.year", false, true},
		{"identity.nationalId", true, true},
		{"health.vaccinations", false, true},
		{"tax.nothing", false, false},
		{"nothing.year", false, false},
		{"tax", false, false},
		{"", false, false},
	} {
		s, k := Sensitive(tc.path)
		if s != tc.sensitive || k != tc.known {
			t.Errorf("Sensitive(%q) = %v, %v; want %v, %v", tc.path, s, k, tc.sensitive, tc.known)
		}
	}
}
