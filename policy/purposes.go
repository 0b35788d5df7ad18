package policy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxPurposesSize bounds a purpose registry file.
const maxPurposesSize = 1 << 20

// ParsePurposes parses a purpose registry: a JSON array of objects with
// the keys code, titleZh, titleEn and legalBasis, and optionally sealed and
// maxSealDays (a sealed purpose, [Purpose.Sealed]), for example
//
//	[
//	  {
//	    "code": "home-purchase-eligibility",
//	    "titleZh": "购房资格审核",
//	    "titleEn": "Home-purchase eligibility review",
//	    "legalBasis": "《中华人民共和国城市房地产管理法》；所在城市住房限购政策"
//	  }
//	]
//
// Codes must be well formed (lower-case words joined by hyphens) and unique,
// and the other three fields non-empty; a sealed purpose needs maxSealDays
// (1 to [MaxSealDays]), and only a sealed one may have it. Errors wrap
// [ErrInvalidPolicy].
// Purposes are returned in file order.
func ParsePurposes(r io.Reader) ([]Purpose, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPurposesSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading purposes: %w", err)
	}
	if len(data) > maxPurposesSize {
		return nil, fmt.Errorf("parsing purposes: %w: larger than %d bytes", ErrInvalidPolicy, maxPurposesSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ps []Purpose
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("parsing purposes: %w: %v", ErrInvalidPolicy, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing purposes: %w: data after the array", ErrInvalidPolicy)
	}
	if ps == nil {
		// "null" decodes without error; only an array is a registry.
		if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("[")) {
			return nil, fmt.Errorf("parsing purposes: %w: not a JSON array", ErrInvalidPolicy)
		}
	}
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("parsing purposes: entry %d: %w: %v", i, ErrInvalidPolicy, err)
		}
		if seen[p.Code] {
			return nil, fmt.Errorf("parsing purposes: entry %d: %w: duplicate code %q", i, ErrInvalidPolicy, p.Code)
		}
		seen[p.Code] = true
	}
	return ps, nil
}

// FormatPurposes writes purposes in canonical form: a JSON array sorted by
// code, indented by two spaces, with non-ASCII text and HTML characters
// written as themselves, and a final newline. ParsePurposes of the output
// returns the same purposes (sorted), and formatting them again gives the
// same bytes.
func FormatPurposes(w io.Writer, purposes []Purpose) error {
	ps := slices.Clone(purposes)
	if ps == nil {
		ps = []Purpose{}
	}
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if err := p.check(); err != nil {
			return fmt.Errorf("formatting purposes: %w: %v", ErrInvalidPolicy, err)
		}
		if seen[p.Code] {
			return fmt.Errorf("formatting purposes: %w: duplicate code %q", ErrInvalidPolicy, p.Code)
		}
		seen[p.Code] = true
	}
	slices.SortFunc(ps, func(a, b Purpose) int { return cmp.Compare(a.Code, b.Code) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ps); err != nil {
		return fmt.Errorf("formatting purposes: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing purposes: %w", err)
	}
	return nil
}
