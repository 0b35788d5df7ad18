// Package commit implements the Pedersen commitments GovHub stores next to
// every sensitive field value, on the G1 group of BLS12-381.
//
// A commitment to a message m (a field value mapped to a scalar) with a
// blinding r is the point
//
//	C = m·G + r·H
//
// where G is the standard generator of G1 and H is derived by RFC 9380
// hash-to-curve (BLS12381G1_XMD:SHA-256_SSWU_RO_), so that nobody knows the
// discrete logarithm of H to base G:
//
//	H = hash_to_curve(msg = "govhub/commit/v1/H",
//	                  DST = "GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_")
//	G = 97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb
//	H = 939bb95ddf30297d778760e64a43f8fa8e599301a070cfab081a03949adb1510d746f392329b519a6f1d528139dec8fc
//
// With r uniformly random in [1, q) the commitment reveals nothing about m
// (hiding); opening it to another message would require log_G H (binding).
// Arithmetic is modulo the group order
//
//	q = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001
//
// The scheme is named by [Scheme], "pedersen-bls12381-g1/v1".
//
// # Messages
//
// Values map to scalars canonically; each kind has its own mapping so that
// values of different kinds never share a commitment:
//
//   - An integer v ([Int]) maps to v if v ≥ 0 and to q − |v| if v < 0, so
//     that sums of integers are sums of scalars (commitments add up, and
//     range proofs can be added later).
//   - A string ([String]) must be valid UTF-8 and is not normalised. It maps
//     to RFC 9380 hash_to_field with expand_message_xmd(SHA-256), one
//     element, L = 48: OS2IP(expand_message_xmd(text, DST, 48)) mod q, with
//     DST = "GOVHUB-COMMIT-V1-STRING".
//   - A date ([Date]) is written "YYYY-MM-DD" (years 0001–9999, proleptic
//     Gregorian calendar, a day that exists) and hashed like a string with
//     DST = "GOVHUB-COMMIT-V1-DATE". Under [SchemeV2] a date maps instead
//     to its day number, an integer, so that range proofs can speak about
//     it ([DateDays], with vectors in testdata/dates.json; see date.go).
//
// Worked examples (scalars in big-endian hex, see [Message.Scalar]):
//
//	Int(42)              000000000000000000000000000000000000000000000000000000000000002a
//	Int(-7)              73eda753299d7d483339d80809a1d80553bda402fffe5bfefffffffefffffffa
//	String("Zhang San")  71516498fc55a39af01f471a46e002ea9df502b3cc1ec0dc60923799f5b5bcbb
//	String("张三")        298e5363ff23ce1d743be25224b4ce0a875be666d7471d4fe1b91f5391be2b85
//	String("")           543a4a4314c3a109cc2cd3417ad0434caf97a6fbdb852c443a7b1ed9570336e4
//	String("2020-01-02") 4d6042cb67ac24ec8a36e043bce59562a41ca1e0076770898f81d17eb102bf6a
//	Date("2020-01-02")   229edeaa63286686e16070da4f44989de4d7fbac53439d20e9776844c6405f13
//
// # Encodings
//
// A [Blinding] is 32 bytes, the big-endian encoding of 0 < r < q.
//
// A [Commitment] is 48 bytes, the compressed point encoding of ZCash and
// the IETF pairing-friendly curves draft: the big-endian x coordinate, with
// the three top bits of the first byte used as flags — 0x80 compressed
// (always set), 0x40 point at infinity (never set in a commitment), 0x20
// set when y is the lexicographically larger of ±y. Its text form is 96
// lowercase hexadecimal digits. [ParseCommitment] accepts only the
// canonical encoding of a point of the prime-order subgroup other than the
// point at infinity.
//
// For example, Int(42) with blinding
//
//	r = 33560c29a913e0ae0e6c86896232afb78dbcdb33607d0e16e63db230e7a54e58
//
// commits to
//
//	C = b3246b126eb34c23bf845ad5b3ade1ad694387bbb91cbb2412e79c8353483d9a25d81939e362ed05e293c486ac0f2f25
//
// where the first byte 0xb3 = 0x80 | 0x20 | 0x13: compressed, larger y, and
// x begins with 0x13. More vectors are in testdata/vectors.json.
//
// # Performance and side channels
//
// [Commit] and [Verify] use fixed-base tables for G and H (768 KiB, built on
// first use) and cost 64 mixed point additions: 30 µs a commitment against
// 263 µs with two generic scalar multiplications, 38 µs a verification, and
// 5.9 ms to build each table (2-core AMD EPYC, go test ./crypto/commit
// -run '^$' -bench 'Commit$|CommitNoTable|Verify|Tables'). Like gnark-crypto's own
// scalar multiplication they are not constant-time: the table lookups
// depend on the value and the blinding.
package commit
