package certificate

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// The names of the formats this package writes.
const (
	// IDPrefix makes a certificate id the credential's id (a URN).
	IDPrefix = "urn:govhub:certificate:"
	// TypeCertificate is the credential type of a certificate, after "VerifiableCredential".
	TypeCertificate = "GovHubCertificate"
	// TypeStatus is the credential type of a signed status.
	TypeStatus = "GovHubCertificateStatus"
	// TypeEvidence is the type of a certificate's evidence object.
	TypeEvidence = "GovHubRuleDecision"
	// VerificationFormat is the first member of a verification document.
	VerificationFormat = "govhub/certificate-verification/v1"
	// recordTag domain-separates the digest an issue entry carries.
	recordTag = "govhub/certificate/v1\x00"
)

// Statuses of a certificate.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a fresh id: prefix ("c-" for certificates, "a-" for applications) and 26 base32
// characters of 16 bytes of r (128 bits).
func NewID(r io.Reader, prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("making an id: %w", err)
	}
	return prefix + idEncoding.EncodeToString(b), nil
}

// IsID reports whether s is a certificate id as NewID makes them ("c-" and 26 base32 characters).
func IsID(s string) bool {
	rest, ok := strings.CutPrefix(s, "c-")
	if !ok || len(rest) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(rest)
	return err == nil
}

// Issuance is what a certificate states.
type Issuance struct {
	ID            string // "c-…"
	Issuer        string // the did:web DID
	Type          policy.CertificateType
	PolicyVersion uint64 // the policy version the rule was decided under
	Issued        time.Time
	Claims        map[string]any
	Proofs        []ProofEvidence
	StatusURL     string // where the signed status is published
}

// Unsigned returns the credential of in without its issue entry and proof (see the package
// documentation for the layout).
func Unsigned(in Issuance) map[string]any {
	claims := make(map[string]any, len(in.Claims))
	for k, v := range in.Claims {
		claims[k] = v
	}
	proofs := make([]any, 0, len(in.Proofs))
	for _, p := range in.Proofs {
		proofs = append(proofs, p.object())
	}
	return map[string]any{
		"@context":  []any{credential.ContextV2},
		"id":        IDPrefix + in.ID,
		"type":      []any{credential.TypeVerifiableCredential, TypeCertificate},
		"issuer":    in.Issuer,
		"name":      in.Type.TitleEn + " / " + in.Type.TitleZh,
		"validFrom": in.Issued.UTC().Format("2006-01-02T15:04:05Z"),
		"credentialSubject": map[string]any{
			"certificateType": in.Type.Code,
			"claims":          claims,
		},
		"credentialStatus": map[string]any{"id": in.StatusURL, "type": TypeStatus},
		"evidence": []any{map[string]any{
			"type":              TypeEvidence,
			"ruleVersion":       in.Type.RuleVersion(),
			"policyVersion":     strconv.FormatUint(in.PolicyVersion, 10),
			"issuingDepartment": in.Type.Department,
			"purpose":           in.Type.Purpose,
			"proofs":            proofs,
		}},
	}
}

// SetIssueEntry puts the index of the issue entry into the evidence of an unsigned credential.
func SetIssueEntry(doc map[string]any, index uint64) error {
	ev, err := evidence(doc)
	if err != nil {
		return err
	}
	ev["issueEntry"] = strconv.FormatUint(index, 10)
	return nil
}

func evidence(doc map[string]any) (map[string]any, error) {
	list, ok := doc["evidence"].([]any)
	if !ok || len(list) != 1 {
		return nil, errors.New("the credential has no single evidence object")
	}
	ev, ok := list[0].(map[string]any)
	if !ok || ev["type"] != TypeEvidence {
		return nil, fmt.Errorf("the credential's evidence is not a %s", TypeEvidence)
	}
	return ev, nil
}

// RecordDigest is what an issue entry's record line carries: SHA-256(recordTag ‖ JCS(the
// credential without its proof and without the evidence's issueEntry)). The credential is
// copied, not changed.
func RecordDigest(doc map[string]any) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var c map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	delete(c, "proof")
	ev, err := evidence(c)
	if err != nil {
		return nil, err
	}
	delete(ev, "issueEntry")
	raw, err = json.Marshal(c)
	if err != nil {
		return nil, err
	}
	canon, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing the credential: %w", err)
	}
	d := sha256.Sum256(append([]byte(recordTag), canon...))
	return d[:], nil
}

// Sign signs an unsigned credential (or status) with the credential key, naming the key's
// verification method of the issuer's DID document.
func Sign(doc map[string]any, key ed25519.PrivateKey, did string, created time.Time) ([]byte, error) {
	secured, err := credential.Sign(doc, key, credential.VerificationMethodID(did, key.Public().(ed25519.PublicKey)), created)
	if err != nil {
		return nil, err
	}
	return json.Marshal(secured)
}

// DIDDocument returns the issuer's DID document (JSON) listing keys, the current credential key
// first and then the keys it replaced, newest first, so that certificates and statuses signed
// before a rotation still verify: each key is its own verification method (the DID with the key's
// Multikey as fragment, credential.VerificationMethodID), controlled by the DID and listed under
// assertionMethod. A key given twice is listed once.
func DIDDocument(did string, keys ...ed25519.PublicKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("certificate: a DID document needs a key")
	}
	var doc map[string]any
	var methods, assertions []any
	seen := map[string]bool{}
	for _, k := range keys {
		d, err := credential.DIDWebDocument(did, k)
		if err != nil {
			return nil, err
		}
		vm := credential.VerificationMethodID(did, k)
		if seen[vm] {
			continue
		}
		seen[vm] = true
		if doc == nil {
			doc = d
		}
		methods = append(methods, d["verificationMethod"].([]any)...)
		assertions = append(assertions, d["assertionMethod"].([]any)...)
	}
	doc["verificationMethod"], doc["assertionMethod"] = methods, assertions
	return json.Marshal(doc)
}

// Status is a certificate's status as a signed status credential states it.
type Status struct {
	Certificate string    // the certificate id
	State       string    // StatusValid or StatusRevoked
	AsOf        time.Time // the status credential's validFrom
	RevokedAt   time.Time
	Reason      string
	RevokeEntry uint64
	// RevokeOnLedger: the revoke entry came with its receipt, which verified (checkRevokeReceipt).
	// A revoked status without one rests on the issuer's signature alone, which is enough to
	// refuse a certificate but not to show the revocation was logged.
	RevokeOnLedger bool
}

// UnsignedStatus returns the status credential of s (see the package documentation).
func UnsignedStatus(issuer string, s Status) map[string]any {
	subj := map[string]any{"id": IDPrefix + s.Certificate, "status": s.State}
	if s.State == StatusRevoked {
		subj["revokedAt"] = s.RevokedAt.UTC().Format("2006-01-02T15:04:05Z")
		subj["reason"] = s.Reason
		subj["revokeEntry"] = strconv.FormatUint(s.RevokeEntry, 10)
	}
	return map[string]any{
		"@context":          []any{credential.ContextV2},
		"type":              []any{credential.TypeVerifiableCredential, TypeStatus},
		"issuer":            issuer,
		"validFrom":         s.AsOf.UTC().Format("2006-01-02T15:04:05Z"),
		"credentialSubject": subj,
	}
}

// Verification is the document GET /verify/<id>.json serves, and the file
// `govhub verify-certificate` checks (see the package documentation).
type Verification struct {
	Format       string          `json:"format"`
	Credential   json.RawMessage `json:"credential"`
	Status       json.RawMessage `json:"status"`
	IssueReceipt string          `json:"issueReceipt"`
	DIDDocument  json.RawMessage `json:"didDocument"`
	// The keys the hub was started with, for pinning by whoever shows the page; a verifier
	// trusts its own copy.
	LogKey        string   `json:"logKey"`
	WitnessKeys   []string `json:"witnessKeys"`
	Quorum        int      `json:"quorum"`
	Verifications int64    `json:"verifications"`
	// RevokeReceipt, for a revoked certificate whose revoke entry is published, is that entry's
	// receipt (a C2SP tlog-proof with the entry as extra data) under a witness-cosigned checkpoint.
	RevokeReceipt string `json:"revokeReceipt,omitempty"`
}

// Trust is what an offline verifier trusts.
type Trust struct {
	Log note.Verifier
	// LogKeys, if it holds any key, is the log key's history (a log whose key was rotated, package
	// ledger's keys.go), verified from Log by the caller; receipts are checked under it.
	LogKeys   ledger.Keys
	Witnesses []ledger.Witness
	Quorum    int
	// IssuerKey, if set, pins the credential key; otherwise the key the served DID document
	// names is used (the issue entry on the witnessed log still binds the credential's content).
	IssuerKey ed25519.PublicKey
	// IssuerKeys, if set, pins a set of credential keys (the current one and those it replaced,
	// for certificates issued before a key rotation): the signing key must be one of them, or
	// IssuerKey.
	IssuerKeys []ed25519.PublicKey
}

// pinned reports whether key is one the trust pins, or true when it pins none.
func (t Trust) pinned(key ed25519.PublicKey) bool {
	if t.IssuerKey == nil && len(t.IssuerKeys) == 0 {
		return true
	}
	if t.IssuerKey != nil && key.Equal(t.IssuerKey) {
		return true
	}
	return slices.ContainsFunc(t.IssuerKeys, func(k ed25519.PublicKey) bool { return key.Equal(k) })
}

// pins reports whether the trust pins issuer keys.
func (t Trust) pins() bool { return t.IssuerKey != nil || len(t.IssuerKeys) > 0 }

// Report is the outcome of a verification.
type Report struct {
	// IssuerKey is the key that signed (a Multikey); IssuerKeyPinned says it was the pinned one.
	IssuerKey       string
	IssuerKeyPinned bool
	ID              string
	Type            string
	RuleVersion     string
	Issuer          string
	Issued          time.Time
	Claims          map[string]any
	IssueEntry      uint64
	Checkpoint      ledger.Checkpoint
	Proofs          int
	// Proven lists the threshold proofs verified, with the claims they make verifiable.
	Proven []ProvenStatement
	Status Status
}

// Check verifies a verification document offline (its JSON text), and optionally a newer signed
// status (statusFile, nil if none), against trust: the credential's eddsa-jcs-2022 signature by
// the issuer's key; each threshold proof against its commitment, statement and the certificate
// id; the issue receipt (C2SP tlog-proof with the entry as extra data) under a checkpoint signed by
// the log and cosigned by a quorum of the witnesses, at the index the evidence names, the entry
// an issue entry naming this certificate and the digest of its content, under the policy version
// the evidence names; and the status credentials' signatures and subject. The newest status
// wins. Any failure is an error saying what failed.
func Check(file []byte, statusFile []byte, trust Trust) (Report, error) {
	var v Verification
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return Report{}, fmt.Errorf("reading the verification document: %w", err)
	}
	if v.Format != VerificationFormat {
		return Report{}, fmt.Errorf("the document's format is %q, want %q", v.Format, VerificationFormat)
	}
	var signer ed25519.PublicKey
	resolve := func(vm string) (ed25519.PublicKey, error) {
		key, err := credential.KeyFromDIDDocument(v.DIDDocument, vm)
		if err != nil {
			return nil, err
		}
		if !trust.pinned(key) {
			return nil, errors.New("the credential is signed by a key other than the pinned issuer key")
		}
		signer = key
		return key, nil
	}
	verified, err := credential.Verify(v.Credential, resolve)
	if err != nil {
		return Report{}, fmt.Errorf("the credential's signature: %w", err)
	}
	doc := verified.Document
	if err := credential.CheckIssuerKey(doc, verified.Proof.VerificationMethod); err != nil {
		return Report{}, fmt.Errorf("the credential's issuer: %w", err)
	}
	rep, err := readCredential(doc)
	if err != nil {
		return Report{}, err
	}
	rep.IssuerKey, rep.IssuerKeyPinned = credential.Multikey(signer), trust.pins()
	ev, _ := evidence(doc)
	proofs, _ := ev["proofs"].([]any)
	if len(proofs) > 0 && rep.Issued.IsZero() {
		return Report{}, errNoIssueDate
	}
	for i, p := range proofs {
		proven, err := checkProofEvidence(p, rep.ID, rep.Issued, rep.Claims)
		if err != nil {
			return Report{}, fmt.Errorf("threshold proof %d: %w", i, err)
		}
		rep.Proven = append(rep.Proven, proven)
	}
	rep.Proofs = len(proofs)

	// The issue entry, under the witnessed checkpoint.
	receipt, err := ledger.ParseProof([]byte(v.IssueReceipt))
	if err != nil {
		return Report{}, fmt.Errorf("the issue receipt: %w", err)
	}
	if receipt.Index != rep.IssueEntry {
		return Report{}, fmt.Errorf("the issue receipt is for entry %d, the credential names entry %d", receipt.Index, rep.IssueEntry)
	}
	cp, err := trust.logKeys().CheckProof(receipt, ledger.LeafHash(receipt.Extra), trust.Witnesses, trust.Quorum)
	if err != nil {
		return Report{}, fmt.Errorf("the issue entry's inclusion: %w", err)
	}
	rep.Checkpoint = cp
	entry, err := ledger.ParseEntry(receipt.Extra)
	if err != nil {
		return Report{}, fmt.Errorf("the issue entry: %w", err)
	}
	digest, err := RecordDigest(doc)
	if err != nil {
		return Report{}, err
	}
	pv, _ := ev["policyVersion"].(string)
	switch {
	case entry.Kind != ledger.KindIssue || entry.Outcome != ledger.OutcomeAllowed:
		return Report{}, fmt.Errorf("ledger entry %d is a %s %s entry, not an issuance", rep.IssueEntry, entry.Outcome, entry.Kind)
	case entry.Certificate != rep.ID:
		return Report{}, fmt.Errorf("ledger entry %d issues %q, not this certificate", rep.IssueEntry, entry.Certificate)
	case !bytes.Equal(entry.Record, digest):
		return Report{}, fmt.Errorf("ledger entry %d records another content than this certificate's", rep.IssueEntry)
	case strconv.FormatUint(entry.Policy, 10) != pv:
		return Report{}, fmt.Errorf("ledger entry %d was decided under policy %d, the credential says %s", rep.IssueEntry, entry.Policy, pv)
	}

	// The status: the one served, or a newer one given.
	rep.Status, err = checkStatus(v.Status, rep, resolve)
	if err != nil {
		return Report{}, fmt.Errorf("the served status: %w", err)
	}
	if err := checkRevokeReceipt(v.RevokeReceipt, &rep.Status, rep, trust); err != nil {
		return Report{}, fmt.Errorf("the served status: %w", err)
	}
	if statusFile != nil {
		st, err := checkStatusFile(statusFile, rep, trust)
		if err != nil {
			return Report{}, fmt.Errorf("the status file: %w", err)
		}
		if st.AsOf.After(rep.Status.AsOf) || rep.Status.State == StatusValid && st.State == StatusRevoked {
			rep.Status = st
		}
	}
	return rep, nil
}

// readCredential reads what a report states from a verified credential.
func readCredential(doc map[string]any) (Report, error) {
	var rep Report
	id, _ := doc["id"].(string)
	rep.ID, _ = strings.CutPrefix(id, IDPrefix)
	if !IsID(rep.ID) {
		return rep, fmt.Errorf("the credential's id %q is not a certificate id", id)
	}
	types, _ := doc["type"].([]any)
	if !slices.Contains(types, any(TypeCertificate)) {
		return rep, fmt.Errorf("the credential is not a %s", TypeCertificate)
	}
	rep.Issuer = credential.Issuer(doc)
	if t, err := time.Parse(time.RFC3339, fmt.Sprint(doc["validFrom"])); err == nil {
		rep.Issued = t
	}
	subj, _ := doc["credentialSubject"].(map[string]any)
	rep.Type, _ = subj["certificateType"].(string)
	rep.Claims, _ = subj["claims"].(map[string]any)
	ev, err := evidence(doc)
	if err != nil {
		return rep, err
	}
	rep.RuleVersion, _ = ev["ruleVersion"].(string)
	if code, _, err := policy.ParseRuleVersion(rep.RuleVersion); err != nil || code != rep.Type {
		return rep, fmt.Errorf("the evidence's rule version %q is not one of type %q", rep.RuleVersion, rep.Type)
	}
	idx, _ := ev["issueEntry"].(string)
	if rep.IssueEntry, err = strconv.ParseUint(idx, 10, 64); err != nil {
		return rep, errors.New("the evidence names no issue entry")
	}
	return rep, nil
}

// checkStatus verifies a status credential about rep's certificate with resolve.
func checkStatus(raw []byte, rep Report, resolve func(string) (ed25519.PublicKey, error)) (Status, error) {
	verified, err := credential.Verify(raw, resolve)
	if err != nil {
		return Status{}, err
	}
	doc := verified.Document
	if credential.Issuer(doc) != rep.Issuer {
		return Status{}, errors.New("issued by another issuer than the certificate")
	}
	if err := credential.CheckIssuerKey(doc, verified.Proof.VerificationMethod); err != nil {
		return Status{}, err
	}
	types, _ := doc["type"].([]any)
	if !slices.Contains(types, any(TypeStatus)) {
		return Status{}, fmt.Errorf("not a %s", TypeStatus)
	}
	subj, _ := doc["credentialSubject"].(map[string]any)
	if subj["id"] != IDPrefix+rep.ID {
		return Status{}, fmt.Errorf("about %v, not this certificate", subj["id"])
	}
	st := Status{Certificate: rep.ID}
	st.State, _ = subj["status"].(string)
	if st.AsOf, err = time.Parse(time.RFC3339, fmt.Sprint(doc["validFrom"])); err != nil {
		return Status{}, errors.New("no time")
	}
	switch st.State {
	case StatusValid:
	case StatusRevoked:
		st.RevokedAt, _ = time.Parse(time.RFC3339, fmt.Sprint(subj["revokedAt"]))
		st.Reason, _ = subj["reason"].(string)
		st.RevokeEntry, _ = strconv.ParseUint(fmt.Sprint(subj["revokeEntry"]), 10, 64)
	default:
		return Status{}, fmt.Errorf("unknown status %q", st.State)
	}
	return st, nil
}

// checkStatusFile verifies a status file: the JSON of GET /verify/<id>/status.json, a status
// credential with the issuer's DID document ({"status": …, "didDocument": …}).
func checkStatusFile(raw []byte, rep Report, trust Trust) (Status, error) {
	var f StatusFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Status{}, err
	}
	if f.Format != StatusFormat {
		return Status{}, fmt.Errorf("format %q, want %q", f.Format, StatusFormat)
	}
	st, err := checkStatus(f.Status, rep, func(vm string) (ed25519.PublicKey, error) {
		key, err := credential.KeyFromDIDDocument(f.DIDDocument, vm)
		if err != nil {
			return nil, err
		}
		if !trust.pinned(key) {
			return nil, errors.New("signed by a key other than the pinned issuer key")
		}
		return key, nil
	})
	if err != nil {
		return Status{}, err
	}
	if err := checkRevokeReceipt(f.RevokeReceipt, &st, rep, trust); err != nil {
		return Status{}, err
	}
	return st, nil
}

// checkRevokeReceipt checks the receipt of a revoked status's revoke entry, if there is one (text
// empty: none, and st.RevokeOnLedger stays false): a C2SP tlog-proof of the entry the status
// names, under a checkpoint signed by the log and cosigned by a quorum of the witnesses; the entry
// an allowed revoke entry of this certificate, about its issue entry, with the status's time and
// reason. A receipt beside a status that is not revoked is refused.
func checkRevokeReceipt(text string, st *Status, rep Report, trust Trust) error {
	if text == "" {
		return nil
	}
	if st.State != StatusRevoked {
		return errors.New("a revoke receipt beside a status that is not revoked")
	}
	receipt, err := ledger.ParseProof([]byte(text))
	if err != nil {
		return fmt.Errorf("the revoke receipt: %w", err)
	}
	if receipt.Index != st.RevokeEntry {
		return fmt.Errorf("the revoke receipt is for entry %d, the status names entry %d", receipt.Index, st.RevokeEntry)
	}
	if _, err := trust.logKeys().CheckProof(receipt, ledger.LeafHash(receipt.Extra), trust.Witnesses, trust.Quorum); err != nil {
		return fmt.Errorf("the revoke entry's inclusion: %w", err)
	}
	e, err := ledger.ParseEntry(receipt.Extra)
	if err != nil {
		return fmt.Errorf("the revoke entry: %w", err)
	}
	switch {
	case e.Kind != ledger.KindRevoke || e.Outcome != ledger.OutcomeAllowed:
		return fmt.Errorf("ledger entry %d is a %s %s entry, not a revocation", receipt.Index, e.Outcome, e.Kind)
	case e.Certificate != rep.ID || e.About != rep.IssueEntry:
		return fmt.Errorf("ledger entry %d revokes another certificate", receipt.Index)
	case !e.Time.Equal(st.RevokedAt) || e.Reason != st.Reason:
		return fmt.Errorf("ledger entry %d revoked at %s for %q, the status says %s for %q", receipt.Index,
			e.Time.UTC().Format(time.RFC3339), e.Reason, st.RevokedAt.UTC().Format(time.RFC3339), st.Reason)
	}
	st.RevokeOnLedger = true
	return nil
}

// StatusFormat is the first member of a status file.
const StatusFormat = "govhub/certificate-status/v1"

// StatusFile is the document GET /verify/<id>/status.json serves: the certificate's current
// status, signed, with the DID document of the key that signed it.
type StatusFile struct {
	Format      string          `json:"format"`
	Status      json.RawMessage `json:"status"`
	DIDDocument json.RawMessage `json:"didDocument"`
	// RevokeReceipt: as in Verification.
	RevokeReceipt string `json:"revokeReceipt,omitempty"`
}

// logKeys is the key history receipts are checked under.
func (t Trust) logKeys() ledger.Keys {
	if len(t.LogKeys.Eras()) > 0 {
		return t.LogKeys
	}
	return ledger.SingleKey(t.Log)
}
