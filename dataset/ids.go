package dataset

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Resident identity numbers, GB 11643-1999.
//
// An id is 18 characters: a 6-digit area code (GB/T 2260; the first two
// digits are a province), the 8-digit birth date YYYYMMDD, a 3-digit sequence
// number whose last digit is odd for men and even for women, and a check
// character. The check character is ISO 7064 MOD 11-2 over the first 17
// digits: with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, the weighted sum
// mod 11 picks from "10X98765432". For the standard's example
// 11010519491231002X (Beijing, Chaoyang district; born 1949-12-31; sequence
// 002, a woman):
//
//	1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3
//	  + 1·7 + 2·9 + 3·10 + 1·5 + 0·8 + 0·4 + 2·2 = 167
//	167 mod 11 = 2, "10X98765432"[2] = 'X'
var (
	nationalIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	earliestBirth     = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
)

const nationalIDCheckChars = "10X98765432"

// provinceCodes are the first two digits of the GB/T 2260 area codes of the
// provincial-level divisions, with 83 added: the residence permits of Hong
// Kong, Macao and Taiwan residents use 810000, 820000 and 830000 in the same
// format.
const provinceCodes = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 " +
	"50 51 52 53 54 61 62 63 64 65 71 81 82 83"

// CheckNationalID checks a resident identity number (GB 11643-1999): 18
// characters; 17 digits of which the first two are a province code and the
// 7th to 14th a calendar date from 1900-01-01 to today; and the check
// character, an upper-case X or a digit, matching the others. A lower-case x
// is refused. The old 15-digit numbers are not accepted.
func CheckNationalID(id string) error {
	return checkNationalID(id, time.Now())
}

func checkNationalID(id string, now time.Time) error {
	if len(id) != 18 {
		if n := utf8.RuneCountInString(id); n != 18 {
			return invalid("must be 18 characters, has %d", n)
		}
		return invalid("must be ASCII digits and X")
	}
	for i := range 17 {
		if !isDigit(id[i]) {
			return invalid("character %d must be a digit", i+1)
		}
	}
	if !isProvinceCode(id[:2]) {
		return invalid("area code must begin with a province code, not %s", id[:2])
	}
	birth, ok := calendarDate(atoi(id[6:10]), atoi(id[10:12]), atoi(id[12:14]))
	switch {
	case !ok:
		return invalid("birth date (characters 7-14) must be a calendar date")
	case birth.Before(earliestBirth):
		return invalid("birth date must not be before 1900")
	case inFuture(birth, now):
		return invalid("birth date must not be in the future")
	}
	want := nationalIDCheck(id[:17])
	switch got := id[17]; {
	case got == want:
		return nil
	case got == 'x' && want == 'X':
		return invalid("check character must be upper-case X, not x")
	case got == 'X' || isDigit(got):
		return invalid("check character is %c, want %c", got, want)
	default:
		return invalid("check character must be a digit or X")
	}
}

func isProvinceCode(s string) bool {
	return len(s) == 2 && isDigit(s[0]) && isDigit(s[1]) && strings.Contains(provinceCodes, s)
}

// nationalIDCheck computes the check character of 17 ASCII digits.
func nationalIDCheck(body string) byte {
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * nationalIDWeights[i]
	}
	return nationalIDCheckChars[sum%11]
}

// NationalIDCheckChar returns the check character ('0'-'9' or 'X') that
// completes the first 17 digits of a resident identity number. It checks only
// that body is 17 digits.
func NationalIDCheckChar(body string) (byte, error) {
	if len(body) != 17 {
		return 0, invalid("must be 17 digits, has %d characters", utf8.RuneCountInString(body))
	}
	for i := range 17 {
		if !isDigit(body[i]) {
			return 0, invalid("character %d must be a digit", i+1)
		}
	}
	return nationalIDCheck(body), nil
}

// NationalIDBirthDate returns the birth date "YYYY-MM-DD" of a valid
// resident identity number, or the error from [CheckNationalID].
func NationalIDBirthDate(id string) (string, error) {
	if err := CheckNationalID(id); err != nil {
		return "", err
	}
	return id[6:10] + "-" + id[10:12] + "-" + id[12:14], nil
}

// NationalIDGender returns the gender a resident identity number encodes:
// "MALE" when its 17th digit is odd, "FEMALE" when even, and "" when id is
// too short or that character is not a digit. It does not check the rest of
// id; use [CheckNationalID] for that.
func NationalIDGender(id string) string {
	if len(id) < 17 || !isDigit(id[16]) {
		return ""
	}
	if (id[16]-'0')%2 == 1 {
		return "MALE"
	}
	return "FEMALE"
}

// Unified social credit codes, GB 32100-2015.
//
// A code is 18 characters from the 31 of "0123456789ABCDEFGHJKLMNPQRTUWXY"
// (digits and upper-case letters without I, O, Z, S and V), each worth its
// index there: the registration department (1 character), the organisation
// type (1), the registering authority's area code (6 digits, GB/T 2260), the
// organisation code (9, GB 11714) and a check character. With weights
// 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 (3^i mod 31), the check
// character is worth 31 − (weighted sum mod 31), and 0 in place of 31. For
// 91350100M000100Y43 the weighted sum of the first 17 is 1640 = 52·31 + 28, and
// 31 − 28 = 3 is the character '3'.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// CheckUSCC checks a unified social credit code (GB 32100-2015): 18
// characters from the code's 31 (no I, O, Z, S or V, no lower case), digits
// in the area code at characters 3 to 8, and the check character matching
// the others.
func CheckUSCC(code string) error {
	if len(code) != 18 {
		if n := utf8.RuneCountInString(code); n != 18 {
			return invalid("must be 18 characters, has %d", n)
		}
		return invalid("must be ASCII digits and upper-case letters")
	}
	for i := range 18 {
		c := code[i]
		switch {
		case strings.IndexByte(usccChars, c) >= 0:
		case 'a' <= c && c <= 'z':
			return invalid("character %d must be upper case", i+1)
		case strings.IndexByte("IOSVZ", c) >= 0:
			return invalid("character %d must not be I, O, S, V or Z", i+1)
		default:
			return invalid("character %d must be a digit or an upper-case letter", i+1)
		}
	}
	for i := 2; i < 8; i++ {
		if !isDigit(code[i]) {
			return invalid("area code (characters 3-8) must be digits")
		}
	}
	if got, want := code[17], usccCheck(code[:17]); got != want {
		return invalid("check character is %c, want %c", got, want)
	}
	return nil
}

// usccCheck computes the check character of 17 characters from usccChars.
func usccCheck(body string) byte {
	sum := 0
	for i := range 17 {
		sum += strings.IndexByte(usccChars, body[i]) * usccWeights[i]
	}
	return usccChars[(31-sum%31)%31]
}

// USCCCheckChar returns the check character that completes the first 17
// characters of a unified social credit code. It checks only that body is 17
// characters from the code's alphabet.
func USCCCheckChar(body string) (byte, error) {
	if len(body) != 17 {
		return 0, invalid("must be 17 characters, has %d", utf8.RuneCountInString(body))
	}
	for i := range 17 {
		if strings.IndexByte(usccChars, body[i]) < 0 {
			return 0, invalid("character %d is not in the code's alphabet", i+1)
		}
	}
	return usccCheck(body), nil
}

// CheckCitizenID checks a GovHub citizen id: "C" followed by 6 to 12 digits,
// as in C000002.
func CheckCitizenID(id string) error {
	if len(id) < 7 || len(id) > 13 || id[0] != 'C' {
		return invalid("must be C followed by 6 to 12 digits")
	}
	for i := 1; i < len(id); i++ {
		if !isDigit(id[i]) {
			return invalid("must be C followed by 6 to 12 digits")
		}
	}
	return nil
}
