package governance

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Proposal is a proposal as officers see it: the stored proposal, its change decoded, and the
// impact computed when it was made.
type Proposal struct {
	store.Proposal
	Change policy.Change
	Impact []policy.FieldChange
	// CertificateImpact counts the citizens each certificate type change moves (when the
	// proposal changes types and the hub previews them).
	CertificateImpact []CertificateImpact
}

// proposalJSON is the stored form of a change.
type proposalJSON struct {
	AddRules, RemoveRules         []policy.Rule
	AddGroupings, RemoveGroupings []policy.Grouping
	AddPurposes                   []policy.Purpose
	RetirePurposes                []string
	// Omitted when empty, so that a change without predicates encodes (and is digested on the
	// ledger) as before them.
	AddPredicates    []policy.Predicate `json:",omitempty"`
	RetirePredicates []string           `json:",omitempty"`
	// Likewise the certificate type edits.
	AddCertificateTypes     []policy.CertificateType `json:",omitempty"`
	ReplaceCertificateTypes []policy.CertificateType `json:",omitempty"`
	RetireCertificateTypes  []string                 `json:",omitempty"`
}

func encodeChange(c policy.Change) ([]byte, error) {
	return json.Marshal(proposalJSON(c))
}

func decodeProposal(p store.Proposal) (Proposal, error) {
	out := Proposal{Proposal: p}
	var c proposalJSON
	if err := json.Unmarshal(p.Change, &c); err != nil {
		return out, fmt.Errorf("proposal %s: %w", p.ID, err)
	}
	out.Change = policy.Change(c)
	if len(p.Impact) > 0 {
		if err := json.Unmarshal(p.Impact, &out.Impact); err != nil {
			return out, fmt.Errorf("proposal %s impact: %w", p.ID, err)
		}
	}
	if len(p.CertificateImpact) > 0 {
		if err := json.Unmarshal(p.CertificateImpact, &out.CertificateImpact); err != nil {
			return out, fmt.Errorf("proposal %s certificate impact: %w", p.ID, err)
		}
	}
	return out, nil
}

// changeDigest names a change on the ledger: SHA-256("govhub/policy-change/v1" ‖ 0x00 ‖ its
// stored JSON). (Reasons stay off the ledger: they are free text.)
func changeDigest(b []byte) []byte {
	d := sha256.Sum256(append([]byte("govhub/policy-change/v1\x00"), b...))
	return d[:]
}
