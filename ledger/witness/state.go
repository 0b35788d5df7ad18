package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
)

// A state file records the latest checkpoint the witness cosigned for one log: a header line,
// then the cosigned checkpoint note exactly as persisted (its text, which holds origin, size
// and root hash, the log's verified signatures, and the witness's cosignature), e.g.
//
//	govhub/witness-state/v1
//	example.gov/tax-log
//	4
//	T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=
//
//	— example.gov/tax-log Bee0lhffV6S1UOpshS+apnCxuY5Cc9GVyUPFNSmcK/SLzPR2iN2RwqPguOGh3h6YOHJ79+zprFOM2s8TDqOL+RUZ3w4=
//	— witness.example.gov/w1 TFfVTQAAAABrAbcSvtWdHd7b5IZ2Mse15j/ioaFDqlTbjRWf+mmLn3tPv/Bz8LfzmoVx8fXUEpQmNErkR6jyhnRz+S93s6UBCqrgAg==
//
// The file is named by the lowercase hex SHA-256 of the origin (as in the tlog-witness
// monitoring API) with the suffix ".state". Signatures are not checked again on load, so a
// rotated log key does not lock the witness out of its own record.
const stateHeader = "govhub/witness-state/v1\n"

// stateSuffix ends every state file name; tempPattern names files being written.
const (
	stateSuffix = ".state"
	tempPattern = ".tmp-*"
)

// statePath returns the state file of origin in dir.
func statePath(dir, origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+stateSuffix)
}

// prepareStateDir creates dir if needed and removes temporary files left by a crash
// between writing and renaming a state file.
func prepareStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("witness: creating state directory: %w", err)
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, "*"+stateSuffix+tempPattern))
	if err != nil {
		return fmt.Errorf("witness: listing state directory: %w", err)
	}
	for _, f := range leftovers {
		// One gone meanwhile (renamed by a witness still writing on this directory) is no leftover.
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("witness: removing leftover temporary state file: %w", err)
		}
	}
	return nil
}

// load reads st's state file, if there is one.
func (st *logState) load() error {
	b, err := os.ReadFile(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("witness: reading state of %q: %w", st.origin, err)
	}
	cp, err := parseState(b)
	if err != nil {
		return fmt.Errorf("witness: state file %s of %q: %w", st.path, st.origin, err)
	}
	if cp.Origin != st.origin {
		return fmt.Errorf("witness: state file %s holds origin %q, want %q", st.path, truncate(cp.Origin), st.origin)
	}
	st.size, st.root, st.checkpoint = cp.Size, cp.Root, b[len(stateHeader):]
	return nil
}

// parseState parses the contents of a state file.
func parseState(b []byte) (checkpoint, error) {
	rest, ok := bytes.CutPrefix(b, []byte(stateHeader))
	if !ok {
		return checkpoint{}, errors.New("missing header line")
	}
	var unverified *note.UnverifiedNoteError
	if _, err := note.Open(rest, note.VerifierList()); !errors.As(err, &unverified) {
		return checkpoint{}, errors.New("malformed checkpoint note")
	}
	return parseCheckpointText(unverified.Note.Text)
}

// store durably replaces st's state file with one holding signed: it writes a temporary
// file in the same directory, syncs it, renames it over the state file, and syncs the
// directory. The caller holds st.mu.
func (st *logState) store(signed []byte) (err error) {
	dir := filepath.Dir(st.path)
	f, err := os.CreateTemp(dir, filepath.Base(st.path)+tempPattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(append([]byte(stateHeader), signed...)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), st.path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
