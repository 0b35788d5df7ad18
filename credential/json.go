package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// maxDepth bounds the nesting of objects and arrays in a document.
const maxDepth = 64

// decodeStrict parses one JSON value the way RFC 8785 (section 3.1, I-JSON, RFC 7493) requires of
// its input, rejecting what encoding/json would silently accept or repair: invalid UTF-8, escaped
// lone surrogates, duplicate member names, and numbers whose value an IEEE 754 double cannot
// hold exactly (see exactNumber). Each of these lets two different texts canonicalize to the
// same bytes, so a signature would cover a document other than the one a reader sees.
//
// Objects decode to map[string]any, arrays to []any, numbers to json.Number (their literal kept).
func decodeStrict(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("json: invalid UTF-8")
	}
	if err := checkSurrogates(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, errors.New("json: nested too deeply")
		}
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("json: %w", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("json: object key is not a string")
				}
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("json: duplicate member name %q", k)
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, fmt.Errorf("json: %w", err)
			}
			return m, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, fmt.Errorf("json: %w", err)
			}
			return a, nil
		}
		return nil, fmt.Errorf("json: unexpected %v", t)
	case json.Number:
		if err := exactNumber(t.String()); err != nil {
			return nil, err
		}
		return t, nil
	default: // string, bool, nil
		return t, nil
	}
}

// exactNumber accepts a JSON number literal only if its value is exactly the value of the
// shortest decimal form of the nearest IEEE 754 double, the form RFC 8785 (section 3.2.2.3)
// writes. So 1, 1.0, 1e0 and 0.1 pass (they mean what their canonical form means) but
// 9007199254740993 or 0.30000000000000000001 fail: JCS would sign a rounded number, and a text
// with any other digits that round the same way would carry the same signature.
func exactNumber(lit string) error {
	// Bound the work big.Rat does: a double has at most 17 significant digits and a decimal
	// exponent within ±324, so longer literals or larger exponents cannot pass anyway.
	if len(lit) > 400 {
		return fmt.Errorf("json: number literal too long")
	}
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		if e, err := strconv.Atoi(strings.TrimPrefix(lit[i+1:], "+")); err != nil || e > 400 || e < -400 {
			return fmt.Errorf("json: number %s out of range", lit)
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return fmt.Errorf("json: number %s out of range", lit)
	}
	want, ok := new(big.Rat).SetString(lit)
	if !ok {
		return fmt.Errorf("json: bad number %s", lit)
	}
	got, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if got == nil || got.Cmp(want) != 0 {
		return fmt.Errorf("json: number %s cannot be represented exactly (RFC 8785 numbers are IEEE 754 doubles); carry it as a string", lit)
	}
	return nil
}

// checkSurrogates rejects \u escapes of UTF-16 surrogates that do not form a pair
// (encoding/json would replace them with U+FFFD). It assumes nothing about the validity of the
// rest of the text, which json decoding checks.
func checkSurrogates(data []byte) error {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return nil
			}
			if data[i+1] != 'u' {
				i++ // skip the escaped character
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				return nil // malformed: the decoder reports it
			}
			i += 5
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return errors.New("json: unpaired surrogate escape")
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
					return errors.New("json: unpaired surrogate escape")
				}
				lo, ok := hex4(data, i+3)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return errors.New("json: unpaired surrogate escape")
				}
				i += 6
			}
		}
	}
	return nil
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// canonicalize returns the RFC 8785 (JCS) form of v, a value decodeStrict produced or one made
// of the same types. The JSON text is produced by encoding/json (valid UTF-8, valid escapes,
// json.Number literals as they are) before jcs.Transform sees it: that parser is lenient and is
// never given outside input directly.
func canonicalize(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return nil, fmt.Errorf("jcs: %w", err)
	}
	return c, nil
}

// normalize turns a caller's document into the types decodeStrict produces, applying the same
// checks, so that what is signed is exactly what is returned. Strings with invalid UTF-8 are
// refused rather than repaired by encoding/json.
func normalize(doc map[string]any) (map[string]any, error) {
	if err := checkStrings(doc, 0); err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	v, err := decodeStrict(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("document is not a JSON object")
	}
	return m, nil
}

func checkStrings(v any, depth int) error {
	if depth > maxDepth {
		return errors.New("json: nested too deeply")
	}
	switch t := v.(type) {
	case string:
		if !utf8.ValidString(t) {
			return errors.New("json: string with invalid UTF-8")
		}
	case map[string]any:
		for k, e := range t {
			if !utf8.ValidString(k) {
				return errors.New("json: member name with invalid UTF-8")
			}
			if err := checkStrings(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := checkStrings(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
