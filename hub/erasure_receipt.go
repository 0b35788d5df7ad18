package hub

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
)

// An erasure receipt is a note (golang.org/x/mod/sumdb/note) signed by the log's key, whose text
// is five lines:
//
//	govhub/erasure-receipt/v1
//	index 1234
//	salt 1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
//	destroyed data-key sealed-values blindings plain-fields record-head …
//	proof YzJzcC5vcmcvdGxvZy1wcm9vZkB2MQpleHRyYSBa…
//
// index is the erasure entry's ledger index; salt (64 lowercase hex) the salt of the citizen's
// subject commitment on it, SHA-256("govhub/subject/v1" ‖ salt ‖ citizen id), which is how the
// citizen, and only someone who knows their id, recognises the entry as theirs; destroyed lists
// what the erasure destroyed, as tokens (Destroyed); proof is the entry's C2SP tlog-proof (with the
// entry as its extra data) in standard base64 on one line. The version line is first, so later
// versions stay distinguishable; readers refuse unknown versions.

// ErasureReceiptHeader is the first line of an erasure receipt.
const ErasureReceiptHeader = "govhub/erasure-receipt/v1"

// Destroyed is what every erasure destroys, as a receipt's destroyed line names it.
var Destroyed = []string{"data-key", "sealed-values", "blindings", "plain-fields", "record-head", "pending-updates",
	"access-log", "subject-salts", "index-rows", "questions", "caches", "registration", "certificates", SealedDetailsDestroyed}

// SealedDetailsDestroyed is the destroyed token that states the details of every sealed access
// about the citizen were destroyed (sealed_erasure.go). Every receipt since it was added names it,
// whether the citizen had sealed accesses or not: a receipt must not tell the citizen of an
// investigation still sealed. A receipt without it predates it.
const SealedDetailsDestroyed = "sealed-details"

// ErasureReceipt is a decoded erasure receipt.
type ErasureReceipt struct {
	Index     uint64
	Salt      []byte
	Destroyed []string
	Proof     ledger.Proof
}

// FormatErasureReceipt encodes r and signs it with the log's signer.
func FormatErasureReceipt(r ErasureReceipt, log note.Signer) ([]byte, error) {
	if len(r.Salt) != subject.SaltSize || len(r.Destroyed) == 0 || r.Proof.Index != r.Index {
		return nil, errors.New("hub: an erasure receipt needs a 32-byte salt, what was destroyed, and the entry's proof")
	}
	for _, d := range r.Destroyed {
		if d == "" || strings.ContainsAny(d, " \n") {
			return nil, fmt.Errorf("hub: %q is not a token", d)
		}
	}
	text := fmt.Sprintf("%s\nindex %d\nsalt %s\ndestroyed %s\nproof %s\n", ErasureReceiptHeader, r.Index, hex.EncodeToString(r.Salt),
		strings.Join(r.Destroyed, " "), base64.StdEncoding.EncodeToString(r.Proof.Marshal()))
	return note.Sign(&note.Note{Text: text}, log)
}

// ErrBadErasureReceipt: an erasure receipt is malformed, not signed by the log, not proved in the
// log, or not about the citizen it was checked for.
var ErrBadErasureReceipt = errors.New("invalid erasure receipt")

// ParseErasureReceipt opens a receipt signed by log and decodes it, without checking its proof
// (CheckErasureReceipt does).
func ParseErasureReceipt(data []byte, log ledger.Keys) (ErasureReceipt, error) {
	bad := func(format string, args ...any) (ErasureReceipt, error) {
		return ErasureReceipt{}, fmt.Errorf("%w: %s", ErrBadErasureReceipt, fmt.Sprintf(format, args...))
	}
	n, err := note.Open(data, log.Verifiers()) // any of the log's keys: a receipt is signed by the key of its day
	if err != nil {
		return bad("not signed by the log's key: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 5 || lines[0] != ErasureReceiptHeader {
		return bad("want 5 lines starting %q", ErasureReceiptHeader)
	}
	val := func(i int, key string) (string, bool) {
		return strings.CutPrefix(lines[i], key+" ")
	}
	var r ErasureReceipt
	s, ok := val(1, "index")
	if r.Index, err = strconv.ParseUint(s, 10, 64); !ok || err != nil || strconv.FormatUint(r.Index, 10) != s {
		return bad("index line")
	}
	s, ok = val(2, "salt")
	if r.Salt, err = hex.DecodeString(s); !ok || err != nil || len(r.Salt) != subject.SaltSize || hex.EncodeToString(r.Salt) != s {
		return bad("salt line")
	}
	s, ok = val(3, "destroyed")
	if r.Destroyed = strings.Split(s, " "); !ok || slices.Contains(r.Destroyed, "") {
		return bad("destroyed line")
	}
	s, ok = val(4, "proof")
	raw, err := base64.StdEncoding.DecodeString(s)
	if !ok || err != nil {
		return bad("proof line")
	}
	if r.Proof, err = ledger.ParseProof(raw); err != nil {
		return bad("proof: %v", err)
	}
	if r.Proof.Index != r.Index || !bytes.Equal(r.Proof.Marshal(), raw) {
		return bad("the proof is for entry %d, not %d", r.Proof.Index, r.Index)
	}
	return r, nil
}

// CheckErasureReceipt verifies a receipt offline: signed by the log's key (of its era, when the log
// key was rotated: log is the key history, ledger.SingleKey of the one key otherwise), its entry an erasure
// entry proved in the log by a checkpoint the log signed and quorum of witnesses cosigned, and,
// when citizen is not "", the entry's subject commitment opening to citizen under the receipt's
// salt. It returns the receipt, the entry and the checkpoint.
func CheckErasureReceipt(data []byte, log ledger.Keys, witnesses []ledger.Witness, quorum int, citizen string) (ErasureReceipt, ledger.Entry, ledger.Checkpoint, error) {
	r, err := ParseErasureReceipt(data, log)
	if err != nil {
		return r, ledger.Entry{}, ledger.Checkpoint{}, err
	}
	bad := func(format string, args ...any) (ErasureReceipt, ledger.Entry, ledger.Checkpoint, error) {
		return r, ledger.Entry{}, ledger.Checkpoint{}, fmt.Errorf("%w: %s", ErrBadErasureReceipt, fmt.Sprintf(format, args...))
	}
	e, err := ledger.ParseEntry(r.Proof.Extra)
	if err != nil {
		return bad("its entry: %v", err)
	}
	if e.Kind != ledger.KindErasure || e.Outcome != ledger.OutcomeAllowed || e.Reason != ErasureReason || len(e.Record) != 32 || len(e.Subjects) != 1 {
		return bad("entry %d is %s %s (%s), not an erasure", r.Index, e.Outcome, e.Kind, e.Reason)
	}
	cp, err := log.CheckProof(r.Proof, ledger.LeafHash(r.Proof.Extra), witnesses, quorum)
	if err != nil {
		return bad("%v", err)
	}
	if citizen != "" && !bytes.Equal(e.Subjects[0], subject.Commit(r.Salt, citizen)) {
		return bad("the erasure entry is not about %s", citizen)
	}
	return r, e, cp, nil
}
