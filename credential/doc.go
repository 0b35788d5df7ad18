// Package credential signs and verifies W3C Verifiable Credentials 2.0 with Data Integrity
// proofs of the cryptosuite eddsa-jcs-2022: the format of GovHub's electronic certificates. It
// knows nothing of HTTP, storage or GovHub's rules.
//
// References (section numbers as in these documents):
//   - [VC-DM] Verifiable Credentials Data Model v2.0, https://www.w3.org/TR/vc-data-model-2.0/
//   - [VC-DI] Verifiable Credential Data Integrity 1.0, https://www.w3.org/TR/vc-data-integrity/
//   - [DI-EDDSA] Data Integrity EdDSA Cryptosuites v1.0, https://www.w3.org/TR/vc-di-eddsa/
//   - [CID] Controlled Identifiers v1.0, https://www.w3.org/TR/cid-1.0/
//   - [DID-WEB] did:web Method Specification, https://w3c-ccg.github.io/did-method-web/
//   - RFC 8785 (JCS), RFC 8032 (Ed25519), draft-msporny-base58-03 (base58btc)
//
// # What is signed
//
// [Sign] follows [DI-EDDSA] 3.3.1 (Create Proof). The proof options are
//
//	{"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
//	 "created": <created, UTC, to the second; absent if zero>,
//	 "verificationMethod": <the URL given>, "proofPurpose": "assertionMethod",
//	 "@context": <the document's @context>}
//
// and the signature is Ed25519 (RFC 8032, pure) over
//
//	SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without "proof"))
//
// ([DI-EDDSA] 3.3.3 Transformation, 3.3.4 Hashing, 3.3.5 Proof Configuration, 3.3.6 Proof
// Serialization), where JCS is the RFC 8785 canonical form. The proof is the options with
// "proofValue": 'z' followed by the base58btc encoding of the 64-byte signature. So every member
// of the document, with its exact value, and every member of the proof but proofValue, is
// signed. The package reproduces the specification's test vectors (testdata/).
//
// Numbers in RFC 8785 are IEEE 754 doubles: two texts whose numbers round to the same double
// have the same canonical form. This package therefore refuses, in Sign and in Verify, a number
// whose value is not exactly that of its canonical form (an integer beyond 2^53, more digits
// than a double holds): carry such values (identifiers, amounts) as strings. It also refuses
// what RFC 8785's I-JSON input excludes and encoding/json would silently accept or repair:
// duplicate member names, invalid UTF-8, unpaired surrogate escapes. Documents decode with
// numbers as json.Number, so what a verifier canonicalizes is what the signer signed.
//
// # What Verify checks
//
// [Verify] follows [VC-DI] 4.4 (Verify Proof) with the expected proof purpose
// "assertionMethod", then [DI-EDDSA] 3.3.2 (Verify Proof):
//   - the text is strict JSON (above) and an object; its proof is one object (proof sets and
//     chains, [VC-DI] 2.1.1-2.1.2, are not supported: a list of proofs, or a proof with
//     previousProof, is refused);
//   - the proof has type, verificationMethod, proofPurpose, cryptosuite and proofValue, all
//     strings; proofPurpose is "assertionMethod"; type is "DataIntegrityProof" and cryptosuite
//     is "eddsa-jcs-2022"; created and expires, if present, are XML Schema dateTimes;
//   - if the proof has an @context, the document's @context starts with its values in the same
//     order, and the verified document takes the proof's @context ([DI-EDDSA] 3.3.2 step 4);
//     a document whose @context was extended after signing therefore verifies, but the members
//     added are not in [Verified].Document; a proof without @context (allowed by the
//     specification) covers the document's own @context;
//   - the verified document meets [CheckCredential] ([VC-DM] section 4);
//   - proofValue is base58btc ('z') of 64 bytes, and is an Ed25519 signature over the hash data
//     above by the key that the caller's resolve function returns for verificationMethod.
//
// # What the caller must check
//
// Verify says only that the key resolve returned signed this credential. The caller must:
//   - resolve the verification method only to a key its controller authorizes for
//     assertionMethod ([CID] 3.3 "Retrieve Verification Method"; [VC-DI] 5.9-5.10):
//     [KeyFromDIDDocument] does this for a DID document the caller fetched from [DIDWebURL];
//   - bind that controller to the credential's issuer ([VC-DI] 5.9 Verification Method
//     Binding; [VC-DM] 7.1 Verification): [CheckIssuerKey], and decide whether it trusts that
//     issuer for this kind of credential;
//   - check the validity period against the current time ([VC-DM] 4.9): [CheckValidAt]; and,
//     if it cares, the proof's created and expires ([Proof]);
//   - check the status (revocation, suspension) named by credentialStatus ([VC-DM] 4.10);
//   - check domain or challenge if it expects them ([VC-DI] 4.4 steps 5-6: [Proof].Other);
//   - accept only @context values it understands ([VC-DM] 4.3; [VC-DI] 4.6 Context
//     Validation): this package does no JSON-LD processing, so a context is an opaque,
//     signed string to it;
//   - read the credential from [Verified].Document, not from its input.
//
// # Keys and issuers
//
// Public keys are Multikeys ([DI-EDDSA] 2.1.1, [CID] "Multikey"): publicKeyMultibase is 'z' and the
// base58btc encoding of 0xed 0x01 followed by the 32-byte Ed25519 key ([Multikey],
// [ParseMultikey]). An issuer is a did:web DID ([DID-WEB]) whose DID document, served at
// [DIDWebURL], lists a Multikey verification method under assertionMethod ([DIDWebDocument]).
package credential
