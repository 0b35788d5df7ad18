package policy

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The files of a policy directory.
const (
	RulesFile    = "rules.csv"
	PurposesFile = "purposes.json"
)

// versionPrefix starts the comment line of rules.csv that holds the policy
// version, "# version: 7". Casbin and ParseCSV see it as a comment.
const versionPrefix = "# version:"

//go:embed demo/rules.csv demo/purposes.json demo/predicates.json demo/certificate-types.json
var demoFS embed.FS

// Demo returns the demonstration policy shipped with GovHub: the purpose
// registry and rules of demo/ in this package.
func Demo() Set {
	sub, err := fs.Sub(demoFS, "demo")
	if err != nil {
		panic(err)
	}
	set, err := loadFS(sub)
	if err != nil {
		panic(fmt.Sprintf("policy: embedded demo policy: %v", err)) // caught by the package's tests
	}
	return set
}

// LoadDir reads the policy in dir: rules.csv, whose comment line
// "# version: N" gives the version, purposes.json, predicates.json, the
// predicate catalogue, and certificate-types.json, the certificate types,
// if there are. The set is validated.
func LoadDir(dir string) (Set, error) {
	set, err := loadFS(os.DirFS(dir))
	if err != nil {
		return Set{}, fmt.Errorf("loading policy from %s: %w", dir, err)
	}
	return set, nil
}

func loadFS(fsys fs.FS) (Set, error) {
	pdata, err := fs.ReadFile(fsys, PurposesFile)
	if err != nil {
		return Set{}, err
	}
	purposes, err := ParsePurposes(bytes.NewReader(pdata))
	if err != nil {
		return Set{}, fmt.Errorf("%s: %w", PurposesFile, err)
	}
	rdata, err := fs.ReadFile(fsys, RulesFile)
	if err != nil {
		return Set{}, err
	}
	version, err := parseVersion(rdata)
	if err != nil {
		return Set{}, fmt.Errorf("%s: %w", RulesFile, err)
	}
	rules, groups, err := ParseCSV(bytes.NewReader(rdata))
	if err != nil {
		return Set{}, fmt.Errorf("%s: %w", RulesFile, err)
	}
	set := Set{Version: version, Rules: rules, Groupings: groups, Purposes: purposes}
	// The predicate catalogue is optional: a directory without it has none.
	switch qdata, err := fs.ReadFile(fsys, PredicatesFile); {
	case err == nil:
		if set.Predicates, err = ParsePredicates(bytes.NewReader(qdata)); err != nil {
			return Set{}, fmt.Errorf("%s: %w", PredicatesFile, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Set{}, err
	}
	// So are the certificate types.
	switch tdata, err := fs.ReadFile(fsys, CertificateTypesFile); {
	case err == nil:
		if set.CertificateTypes, err = ParseCertificateTypes(bytes.NewReader(tdata)); err != nil {
			return Set{}, fmt.Errorf("%s: %w", CertificateTypesFile, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Set{}, err
	}
	if err := set.Validate(); err != nil {
		return Set{}, err
	}
	return set, nil
}

// parseVersion finds the one "# version: N" line of a rules file.
func parseVersion(data []byte) (uint64, error) {
	var (
		version uint64
		found   bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxLineLen)
	for n := 1; sc.Scan(); n++ {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), versionPrefix)
		if !ok {
			continue
		}
		if found {
			return 0, &ParseError{Line: n, Err: fmt.Errorf("%w: second version line", ErrInvalidPolicy)}
		}
		v, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return 0, &ParseError{Line: n, Err: fmt.Errorf("%w: malformed version %q", ErrInvalidPolicy, strings.TrimSpace(rest))}
		}
		version, found = v, true
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return 0, err // ParseCSV reports long lines with their number
	}
	if !found {
		return 0, fmt.Errorf("%w: no %q line", ErrInvalidPolicy, versionPrefix+" N")
	}
	return version, nil
}

// WriteDir validates set and writes it to dir (created with mode 0700 if
// missing) as purposes.json, predicates.json (removed when set has no
// predicates), certificate-types.json (likewise) and then rules.csv, each replaced atomically
// (written to a temporary file with mode 0600, synced, renamed). Because
// rules.csv carries the version and is written last, its rename is the
// point at which the new policy takes effect for LoadDir. A crash between
// the two renames leaves the old rules and version with the new purposes;
// LoadDir validates that pair like any other (a rule naming a purpose that
// was removed makes it fail rather than load silently).
func WriteDir(dir string, set Set) error {
	if err := set.Validate(); err != nil {
		return fmt.Errorf("writing policy %d: %w", set.Version, err)
	}
	var purposes, rules bytes.Buffer
	if err := FormatPurposes(&purposes, set.Purposes); err != nil {
		return err
	}
	fmt.Fprintf(&rules, "%s %d\n", versionPrefix, set.Version)
	if err := FormatCSV(&rules, set.Rules, set.Groupings); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing policy: %w", err)
	}
	if err := writeFileAtomic(dir, PurposesFile, purposes.Bytes()); err != nil {
		return err
	}
	if len(set.Predicates) > 0 {
		var preds bytes.Buffer
		if err := FormatPredicates(&preds, set.Predicates); err != nil {
			return err
		}
		if err := writeFileAtomic(dir, PredicatesFile, preds.Bytes()); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, PredicatesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing policy: %w", err)
	}
	if len(set.CertificateTypes) > 0 {
		var types bytes.Buffer
		if err := FormatCertificateTypes(&types, set.CertificateTypes); err != nil {
			return err
		}
		if err := writeFileAtomic(dir, CertificateTypesFile, types.Bytes()); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, CertificateTypesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing policy: %w", err)
	}
	return writeFileAtomic(dir, RulesFile, rules.Bytes())
}

// writeFileAtomic replaces dir/name with data, mode 0600.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing %s: syncing directory: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("writing %s: syncing directory: %w", name, err)
	}
	return nil
}
