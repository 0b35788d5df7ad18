// Package governance is the officers' maker-checker workflow over GovHub's policy: an officer
// proposes a change with a reason and sees its impact (every decision that moves); a different
// officer approves it against the version it was proposed on, and it becomes the next policy
// version on every instance; or an officer rejects it. It also imports the first policy version
// into an empty store, and follows the stored versions so that each instance decides under the
// newest one. Package policy makes the decisions; governance only changes what they are made
// from.
//
// The invariants of ARCHITECTURE §1 this package keeps:
//   - every change is on the ledger: a proposal, an approval, a rejection and an import each
//     append an entry (kind, actor department and role, policy version, and a digest of the
//     change or of the version, SHA-256 over its stored form; reasons stay off the ledger, they
//     are free text) before anything is stored, and an approval takes effect only once its entry
//     is durable; if the ledger cannot take an entry the call fails with ErrUnavailable or
//     ErrBusy and nothing changes;
//   - maker-checker: the approver is an officer other than the proposer (ErrSelfApproval; the
//     subjects are compared in canonical form, auth.CanonicalSubject, so a case variant of the
//     proposer's name is the proposer), and a
//     proposal applies only to the version in force when it was made (ErrConflict otherwise);
//     two instances approving two proposals for the same version number are arbitrated by the
//     store (policy.ErrVersionExists), the loser's approval is recorded as superseded;
//   - deny by default: a change that does not validate against the catalog is refused with the
//     reason (ErrInvalid) and nothing is recorded.
//
// [EarlyUnseals] is the same maker-checker for unsealing a sealed access before its date
// (unseal.go).
// [Erasures] is the same maker-checker for lawful erasures of a citizen's data (erasure.go): the
// approval hands the request to the hub, which applies it.
//
// [Officers] is the workflow and the officers' and auditors' queries about the policy;
// [Follower] puts newer stored versions in force (Reload, Watch); [ImportPolicy] stores the
// first version. The error sentinels are the same values as hub's (hub.ErrForbidden is
// ErrForbidden), so callers map them once.
package governance
