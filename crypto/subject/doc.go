// Package subject names citizens in GovHub's ledger and private index without revealing them
// (ARCHITECTURE §1.3: no personal data in the ledger): salted subject commitments in ledger entries,
// keyed pseudonyms in the private subject index, and keyed digests of requests. Its functions are
// pure: no I/O, no state, safe for concurrent use. The one stateful type is [Ring], a hub's index
// keys across rotations.
//
// # Formats
//
// All three are version-labelled; a new version gets a new label, and old ones stay computable.
// "‖" is concatenation; citizen ids and labels are their UTF-8 bytes, without terminator unless
// shown.
//
// A subject commitment ([Commit]) is
//
//	SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID)
//
// with a fresh 32-byte salt ([NewSalt]) per entry and citizen. The salt is kept off the ledger (in
// the private subject index, and given to the citizen), so the commitment hides the citizen from
// anyone without it, and the citizen, holding it, can recompute the commitment (the citizen
// portal does, in the browser) and find themselves in the entry.
//
// A pseudonym ([Pseudonym]) is the first 16 bytes, as 32 lower-case hex digits, of
//
//	HMAC-SHA-256(indexKey, "govhub/pseudonym/v1" ‖ 0x00 ‖ citizenID)
//
// where indexKey is the hub's 32-byte index key: it keys the private index from citizens to their
// entries, and cannot be reversed or tested by anyone without the key.
//
// A request digest ([RequestDigest]) is
//
//	HMAC-SHA-256(indexKey, "govhub/request/v1" ‖ 0x00 ‖ request)
//
// so that the hub can show a request matches its entry, while nobody without the key can test
// guesses of its contents (a plain hash of a request naming a citizen and a value would give
// both away).
//
// An official pseudonym ([Official]) names the person behind a request (their token's subject)
// to their own department and to nobody else: 64 lower-case hex digits of
//
//	HMAC-SHA-256(departmentKey, "govhub/official/v1" ‖ 0x00 ‖ tokenSubject)
//
// where departmentKey ([DepartmentKey]) is HMAC-SHA-256(officialsKey, "govhub/official-key/v1" ‖
// 0x00 ‖ department) under the hub's 32-byte officials key. A department given its key can
// recompute its officials' pseudonyms; another department's entries stay opaque to it.
//
// # Index key rotation
//
// A [Ring] holds the current index key and those it replaced. What is written from now on is
// keyed by the current key ([Ring.Current], [Ring.RequestDigest]); what was keyed earlier is
// checked or found under each key held ([Ring.Keys], [Ring.Find]). Pseudonyms address stored data,
// so they are under one key, the pseudonym key ([Ring.PseudonymKeys], [Ring.Pseudonym]): the
// oldest key until [Ring.SetPseudonymKeys] names another, with the former pseudonym keys whose
// data has not moved yet (the hub moves it). The oldest key stays in the ring for as long as it
// lives: [Ring.Update] refuses a key set without it ([ErrPseudonymKey]). A key is named on its
// rotation entry by [KeyID]:
//
//	KeyID(key) = hex(SHA-256("govhub/index-key/v1\n" ‖ key))
//
// # Worked example
//
// With salt 32 bytes of 0x01, index key 32 bytes of 0x02 and citizen "C000001":
//
//	Commit(salt, "C000001")     = ea0400a9b21a5cdeb8f524660c14fe6406b6053e4d89afcf3342a347b9038007
//	Pseudonym(key, "C000001")   = 48a6f77ecac642e62c6b18b4009a8b8f
//	RequestDigest(key, `{"query":"{ me { kind } }"}`)
//	                            = f1928402166c84ab2106778afa6087cb70aff74eb9c62c7320b0f6794a810f8b
//
// and the index key's id on its rotation entry
//
//	KeyID(key)                  = 6f0e6b81188adad2f52cb848a594781fd7137aa2f032882c699c5a5dadf2ae8f
//
// and, with the officials key 32 bytes of 0x02,
//
//	Official(key, "housing", "clerk-17")
//	                            = 9ca304790f184a7ed154b0a1aebde51f072961d1ce8c118ed3c4f786184b743a
//
// testdata/vectors.json holds these and more (hex inputs and outputs), checked by the tests; the
// citizen portal checks its own implementation against the same file.
package subject
