package dataset

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// vector is one line of testdata/national_ids.txt or testdata/usccs.txt.
type vector struct {
	in, want, source string // want is "" for a valid value
}

func readVectors(t testing.TB, name string) []vector {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, " | ")
		if len(parts) != 3 {
			t.Fatalf("%s:%d: want 3 fields separated by \" | \", have %d", name, n, len(parts))
		}
		v := vector{in: parts[0], want: parts[1], source: parts[2]}
		if v.want == "ok" {
			v.want = ""
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

// reason returns err's reason, or "" for nil; it fails the test for an
// error that is not a *ValidationError.
func reason(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	return ve.Reason
}

func TestNationalIDVectors(t *testing.T) {
	vs := readVectors(t, "testdata/national_ids.txt")
	valid := 0
	for _, v := range vs {
		t.Run(v.in, func(t *testing.T) {
			if got := reason(t, CheckNationalID(v.in)); got != v.want {
				t.Errorf("CheckNationalID(%q) = %q, want %q (%s)", v.in, got, v.want, v.source)
			}
		})
		if v.want == "" {
			valid++
		}
	}
	if valid < 2 {
		t.Errorf("testdata has %d valid published national ids, want at least 2", valid)
	}
}

func TestUSCCVectors(t *testing.T) {
	vs := readVectors(t, "testdata/usccs.txt")
	valid := 0
	for _, v := range vs {
		t.Run(v.in, func(t *testing.T) {
			if got := reason(t, CheckUSCC(v.in)); got != v.want {
				t.Errorf("CheckUSCC(%q) = %q, want %q (%s)", v.in, got, v.want, v.source)
			}
		})
		if v.want == "" {
			valid++
		}
	}
	if valid < 2 {
		t.Errorf("testdata has %d valid published codes, want at least 2", valid)
	}
}

func TestCheckNationalID(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, want string
	}{
		{"GB example", "11010519491231002X", ""},
		{"published male", "53010219200508011X", ""},
		{"leap day 2000", "330100200002290020", ""},
		{"earliest date", "11010519000101001X", ""},
		{"born today", "110105202506300018", ""},
		{"born today east of UTC", "110105202507010012", ""},
		{"born tomorrow", "110105202507020018", "birth date must not be in the future"},
		{"Hong Kong resident", "810000199001010019", ""},
		{"Taiwan resident permit", "830000199001010020", ""},
		{"empty", "", "must be 18 characters, has 0"},
		{"17 digits", "11010519491231002", "must be 18 characters, has 17"},
		{"full-width digits", "１１０１０５１９４９１２３１００２Ｘ", "must be ASCII digits and X"},
		{"letter in area", "1A010519491231002X", "character 2 must be a digit"},
		{"space", " 1010519491231002X", "character 1 must be a digit"},
		{"province 00", "000105194912310029", "area code must begin with a province code, not 00"},
		{"province 99", "990105194912310027", "area code must begin with a province code, not 99"},
		{"province 24", "240105194912310025", "area code must begin with a province code, not 24"},
		{"month 13", "110105194913310025", "birth date (characters 7-14) must be a calendar date"},
		{"day 00", "110105194912000023", "birth date (characters 7-14) must be a calendar date"},
		{"1899", "110105189912310020", "birth date must not be before 1900"},
		{"wrong check digit", "110105194912310021", "check character is 1, want X"},
		{"X where digit due", "53010219200508012X", "check character is X, want 8"},
		{"lower-case x", "11010519491231002x", "check character must be upper-case X, not x"},
		{"lower-case x where digit due", "53010219200508012x", "check character must be a digit or X"},
		{"other letter", "11010519491231002Y", "check character must be a digit or X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reason(t, checkNationalID(tt.in, now)); got != tt.want {
				t.Errorf("checkNationalID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNationalIDCheckChar(t *testing.T) {
	tests := []struct {
		in      string
		want    byte
		wantErr bool
	}{
		{"11010519491231002", 'X', false},
		{"53010219200508011", 'X', false},
		{"44052418800101001", '4', false},
		{"1101051949123100", 0, true},
		{"1101051949123100X", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NationalIDCheckChar(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NationalIDCheckChar(%q) = %q, %v, want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNationalIDBirthDate(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"11010519491231002X", "1949-12-31", ""},
		{"53010219200508011X", "1920-05-08", ""},
		{"110105194912310021", "", "check character is 1, want X"},
		{"440524188001010014", "", "birth date must not be before 1900"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NationalIDBirthDate(tt.in)
			if got != tt.want || reason(t, err) != tt.wantErr {
				t.Errorf("NationalIDBirthDate(%q) = %q, %v, want %q, %q", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNationalIDGender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519491231002X", "FEMALE"},
		{"53010219200508011X", "MALE"},
		{"110105194912310030", "MALE"},
		{"1101051949123100", ""},
		{"1101051949123100AX", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NationalIDGender(tt.in); got != tt.want {
				t.Errorf("NationalIDGender(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckUSCC(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Fuzhou example", "91350100M000100Y43", ""},
		{"Tencent", "91440300708461136T", ""},
		{"Huawei", "914403001922038216", ""},
		{"empty", "", "must be 18 characters, has 0"},
		{"19 characters", "91350100M000100Y430", "must be 18 characters, has 19"},
		{"lower case", "91350100M000100y43", "character 16 must be upper case"},
		{"letter I", "9I350100M000100Y43", "character 2 must not be I, O, S, V or Z"},
		{"letter S", "91350100M000S00Y43", "character 13 must not be I, O, S, V or Z"},
		{"letter V", "91350100V000100Y43", "character 9 must not be I, O, S, V or Z"},
		{"letter Z", "Z1350100M000100Y43", "character 1 must not be I, O, S, V or Z"},
		{"punctuation", "91350100-000100Y43", "character 9 must be a digit or an upper-case letter"},
		{"letter in area", "9135010AM000100Y43", "area code (characters 3-8) must be digits"},
		{"wrong check", "91350100M000100Y44", "check character is 4, want 3"},
		{"check needing 0", "91440300708461136U", "check character is U, want T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reason(t, CheckUSCC(tt.in)); got != tt.want {
				t.Errorf("CheckUSCC(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUSCCCheckChar(t *testing.T) {
	tests := []struct {
		in      string
		want    byte
		wantErr bool
	}{
		{"91350100M000100Y4", '3', false},
		{"91440300708461136", 'T', false},
		{"91110108551385082", 'Q', false},
		{"9135010OM000100Y4", 0, true},
		{"91350100M000100Y", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := USCCCheckChar(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("USCCCheckChar(%q) = %q, %v, want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestUSCCCheckZero covers the rule that a check value of 31 is written 0:
// it finds a body whose check character is '0' and confirms that the code
// with '0' passes.
func TestUSCCCheckZero(t *testing.T) {
	for n := range 1000 {
		body := "91350100M000" + string(usccChars[n%31]) + string(usccChars[n/31%31]) + "0Y4"
		c, err := USCCCheckChar(body)
		if err != nil {
			t.Fatal(err)
		}
		if c == '0' {
			if err := CheckUSCC(body + "0"); err != nil {
				t.Errorf("CheckUSCC(%q) = %v, want nil", body+"0", err)
			}
			return
		}
	}
	t.Fatal("no body with check character 0 found")
}

func TestCheckCitizenID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"C000001", true},
		{"C000002", true},
		{"C123456789012", true},
		{"C00001", false},
		{"C1234567890123", false},
		{"c000001", false},
		{"D000001", false},
		{"C00000A", false},
		{"C 000001", false},
		{"", false},
		{"C", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := CheckCitizenID(tt.in)
			if got := err == nil; got != tt.want {
				t.Errorf("CheckCitizenID(%q) = %v, want valid %v", tt.in, err, tt.want)
			}
		})
	}
}

func seedFromVectors(f *testing.F, name string) {
	for _, v := range readVectors(f, name) {
		f.Add(v.in)
	}
}

// FuzzCheckNationalID checks that CheckNationalID never panics, that a valid
// id is its own upper-case form and stays valid through strings.ToUpper, and
// that the functions reading a valid id agree with it.
func FuzzCheckNationalID(f *testing.F) {
	seedFromVectors(f, "testdata/national_ids.txt")
	f.Fuzz(func(t *testing.T, id string) {
		err := CheckNationalID(id)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason == "" {
				t.Fatalf("CheckNationalID(%q) = %v (%T), want a *ValidationError with a reason", id, err, err)
			}
			return
		}
		up := strings.ToUpper(id)
		if up != id {
			t.Fatalf("valid id %q differs from its upper case %q", id, up)
		}
		if err := CheckNationalID(up); err != nil {
			t.Fatalf("CheckNationalID(ToUpper(%q)) = %v, want nil", id, err)
		}
		bd, err := NationalIDBirthDate(id)
		if err != nil || bd[:4]+bd[5:7]+bd[8:] != id[6:14] {
			t.Fatalf("NationalIDBirthDate(%q) = %q, %v", id, bd, err)
		}
		if g := NationalIDGender(id); g != "MALE" && g != "FEMALE" {
			t.Fatalf("NationalIDGender(%q) = %q", id, g)
		}
		if c, err := NationalIDCheckChar(id[:17]); err != nil || c != id[17] {
			t.Fatalf("NationalIDCheckChar(%q) = %q, %v, want %q", id[:17], c, err, id[17])
		}
	})
}

// FuzzCheckUSCC checks that CheckUSCC never panics, that a valid code is its
// own upper-case form and stays valid through strings.ToUpper, and that
// changing its check character makes it invalid.
func FuzzCheckUSCC(f *testing.F) {
	seedFromVectors(f, "testdata/usccs.txt")
	f.Fuzz(func(t *testing.T, code string) {
		err := CheckUSCC(code)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason == "" {
				t.Fatalf("CheckUSCC(%q) = %v (%T), want a *ValidationError with a reason", code, err, err)
			}
			return
		}
		up := strings.ToUpper(code)
		if up != code {
			t.Fatalf("valid code %q differs from its upper case %q", code, up)
		}
		if err := CheckUSCC(up); err != nil {
			t.Fatalf("CheckUSCC(ToUpper(%q)) = %v, want nil", code, err)
		}
		other := usccChars[(strings.IndexByte(usccChars, code[17])+1)%31]
		if err := CheckUSCC(code[:17] + string(other)); err == nil {
			t.Fatalf("CheckUSCC(%q) = nil after changing the check character of %q", code[:17]+string(other), code)
		}
	})
}
