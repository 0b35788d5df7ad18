// Package certificate is the engine of GovHub's electronic certificates: certificate types'
// rules in CEL (compiled, checked against the issuer's grants, evaluated), the credential a
// certificate is, the digest its issue entry carries, the signed status, and the offline check
// of a verification document. It knows nothing of storage or HTTP; hub.Certificates issues,
// revokes and serves certificates with it (ARCHITECTURE §3), and `govhub verify-certificate`
// checks them with [Check].
//
// # Rules
//
// A type's rule and each claim are CEL expressions (github.com/google/cel-go) over the
// citizen's fields, named "dataset.field":
//
//	(identity.hukouCity == "上海市" || socialInsurance.contributionMonths >= 60)
//	    && size(property) + size(spouse.property) < 2
//
// The variables are:
//   - every non-sensitive field of a one-record dataset, with its catalog kind (String, Enum
//     and Date are strings, "YYYY-MM-DD" for dates; Int int; Float double; Bool bool;
//     StringList a list of strings), absent when the citizen has no value;
//   - every sensitive field, of an opaque type that a rule may use only as present(f) (the
//     citizen has a value) or compared with an integer literal, f >= N, f > N, f <= N or f < N:
//     each comparison must be a statement that a catalogued predicate of the policy makes
//     (f >= N is atLeast N, f > N atLeast N+1, f <= N atMost N, f < N atMost N-1). Before type
//     checking, [Compile] rewrites each such comparison into a bool variable, which evaluation
//     binds to whether the predicate holds; a rule therefore never reads a sensitive value, and
//     a certificate can never state one; a sensitive date is used only as present(f) or
//     ageAtLeast(f, N), N an integer literal of years (1 to 150), which states the catalogued
//     predicate of kind ageAtLeast with min N (f at least N years before the day decided) and is
//     rewritten the same way;
//   - every list dataset ("property", "businessLicense") as a list of maps holding its items'
//     non-sensitive fields, and the same of the spouse ("spouse.property"): the hub finds the
//     spouse through the citizen's sealed marriage.spouseCitizenId, which it opens internally
//     and never releases; a citizen without a spouse has empty spouse lists.
//
// [Rule.Grants] checks, under a policy snapshot, that the type's issuing role may read all of
// it for the type's purpose: reveal of each non-sensitive field (and of every non-sensitive
// field of a list dataset read); a catalogued predicate it may prove for each comparison;
// commit or more for present(); commit or more of marriage.spouseCitizenId for spouse lists.
// Governance runs it ([CheckTypes]) on every proposed policy version, so a type that needs a
// value its issuer may not read is refused when proposed, never at issue time. A rule that
// cannot be decided (a value missing for a comparison) is an error, never an eligibility.
//
// A type names the rule a certificate was decided under as "code@since", since being the
// policy version in which the type last changed (policy.CertificateType.RuleVersion).
//
// # The credential
//
// A certificate is a W3C Verifiable Credential 2.0 with a Data Integrity proof of cryptosuite
// eddsa-jcs-2022 (package credential), signed with the hub's credential key and issued by the
// hub's did:web DID, whose document (GET /.well-known/did.json) lists that key as a Multikey
// (after a rotation of the credential key, the current key first and every earlier one after it,
// each its own verification method, so that certificates signed before still verify):
//
//	{"@context": ["https://www.w3.org/ns/credentials/v2"],
//	 "id": "urn:govhub:certificate:c-ZYMO7EADHNERCHD6UGL4J3UQ4E",
//	 "type": ["VerifiableCredential", "GovHubCertificate"],
//	 "issuer": "did:web:hub.example",
//	 "name": "Home-purchase eligibility / 购房资格证明",
//	 "validFrom": "2026-12-06T12:46:55Z",
//	 "credentialSubject": {"certificateType": "home-purchase-eligibility",
//	                       "claims": {"eligible": true, "name": "何远航"}},
//	 "credentialStatus": {"id": "https://hub.example/verify/c-…/status.json",
//	                      "type": "GovHubCertificateStatus"},
//	 "evidence": [{"type": "GovHubRuleDecision",
//	               "ruleVersion": "home-purchase-eligibility@1", "policyVersion": "1",
//	               "issuingDepartment": "housing", "purpose": "home-purchase-eligibility",
//	               "proofs": [{"field": "socialInsurance.contributionMonths",
//	                           "predicate": "atLeast60",
//	                           "statement": {"kind": "atLeast", "min": 60, "max": 0},
//	                           "commitment": "<96 hex digits: compressed BLS12-381 G1>",
//	                           "proof": "<base64: crypto/rangeproof Bulletproofs>"}],
//	               "issueEntry": "316"}],
//	 "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", …}}
//
// Ids are "c-" and 26 base32 characters of 128 random bits ([NewID]). Each proof is bound to
// the certificate id as its context (the hub gathers the citizen's data with the certificate id
// as the request id, which the gather's access entry carries). The proofs are those of the
// predicates that held and that the decision relied on.
//
// An age (statement kind ageAtLeast, min N years) is proven as of the issue date: the proof
// object also has "on", the UTC date of validFrom, and "threshold", [AgeThresholdDate](on, N),
// and the proof is an atMost range proof on the date's day number (crypto/commit scheme v2) at
// the threshold's day number, with the context [AgeContext](on, certificate id):
//
//	{"field": "identity.birthDate", "predicate": "adult",
//	 "statement": {"kind": "ageAtLeast", "min": 18, "max": 0},
//	 "commitment": "…", "proof": "…", "on": "2026-12-06", "threshold": "2008-12-06",
//	 "claim": "atLeast18"}
//
// "claim" names the claim the proof makes verifiable: one whose expression is exactly the
// predicate ("atLeast18": "ageAtLeast(identity.birthDate, 18)"), stated true ([Rule.LinkClaims]).
// A claim that does not hold is stated false, with no proof.
//
// The issue entry (ledger kind issue) names the certificate id on its certificate line, the
// type's purpose, the policy version and, on its record line, [RecordDigest]:
//
//	SHA-256("govhub/certificate/v1" ‖ 0x00 ‖ JCS(credential without "proof" and without
//	        evidence[0].issueEntry))
//
// so the credential names the entry and the entry names the credential's content.
//
// # Status
//
// GET /verify/<id>/status.json serves a [StatusFile]: {"format":
// "govhub/certificate-status/v1", "status": <credential>, "didDocument": <the issuer's DID
// document>}, the status credential being, signed now with the credential key,
//
//	{"@context": ["https://www.w3.org/ns/credentials/v2"],
//	 "type": ["VerifiableCredential", "GovHubCertificateStatus"],
//	 "issuer": "did:web:hub.example", "validFrom": "<now, or the revocation time if later>",
//	 "credentialSubject": {"id": "urn:govhub:certificate:c-…", "status": "revoked",
//	                       "revokedAt": "2026-12-06T13:00:00Z", "reason": "issued-in-error",
//	                       "revokeEntry": "352"}}
//
// (status "valid" without the revocation members). The revoke entry (ledger kind revoke) has the
// issue entry's index as its about line and the certificate id on its certificate line. Once it
// is published, the status file and the verification document also carry its receipt,
// "revokeReceipt": "<C2SP tlog-proof of the revoke entry, the entry's bytes as its extra line,
// under the latest witness-cosigned checkpoint>", which [Check] verifies like the issue receipt
// (the entry an allowed revocation of this certificate's issue entry, at the status's time, for
// its reason; Status.RevokeOnLedger). A receipt beside a status that is not revoked is refused.
//
// # The verification document
//
// GET /verify/<id>.json (public, counted) serves a [Verification]:
//
//	{"format": "govhub/certificate-verification/v1",
//	 "credential": <the credential above>,
//	 "status": <a status credential, signed now>,
//	 "issueReceipt": "<C2SP tlog-proof of the issue entry, the entry's bytes as its extra
//	                  line, under the latest published (witness-cosigned) checkpoint>",
//	 "didDocument": <the issuer's DID document>,
//	 "logKey": "<the ledger's note verifier key>", "witnessKeys": ["<cosignature vkey>", …],
//	 "quorum": <witness quorum>, "verifications": <count>,
//	 "revokeReceipt": "<as in the status file, once a revocation is published>"}
//
// logKey, witnessKeys and quorum are what the hub was started with: a page or tool pins its own
// copies and uses these only to say which it expects. [Check] verifies a document offline
// against the keys it trusts: the credential's signature by the key the DID document authorizes
// for assertionMethod (or a pinned key), the issuer bound to that key's DID; every threshold
// proof against its commitment, statement and the certificate id (an age: "on" the issue date,
// "threshold" N years before it, [ProofEvidence.RangeStatement]), and its claim true; the receipt's checkpoint
// signed by the log key and cosigned by the quorum of trusted witnesses, the inclusion of the
// entry at the index the evidence names, the entry an allowed issue entry naming this
// certificate and RecordDigest of its content under the policy version the evidence names; and
// the status credentials (the one served, and a newer status file if given: the newest wins, a
// revocation over a valid status of the same time).
package certificate
