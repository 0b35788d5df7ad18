// Package rangeproof proves threshold statements about the integer inside
// a GovHub Pedersen commitment (package crypto/commit) without revealing
// it: that a committed value v is at least, at most, or between given
// thresholds. The proofs are Bulletproofs range proofs (Bünz, Bootle, Boneh,
// Poelstra, Wuille, Maxwell, "Bulletproofs: Short Proofs for Confidential
// Transactions and More", IEEE S&P 2018, sections 3, 4.2 and 4.3, with the
// logarithmic inner-product argument), made non-interactive with the
// Fiat–Shamir transform, on the G1 group of BLS12-381. They need no trusted
// setup: every generator is derived by hashing.
//
// # Statements
//
// A commitment C = v·G + r·H (see crypto/commit) is to an integer v,
// mapped to the scalar v mod q. Every range is 32 bits wide ([Bits]):
//
//   - [AtLeast](t), v ≥ t, is proven as v − t ∈ [0, 2^32) for the
//     commitment V = C − t·G, with blinding r.
//   - [AtMost](t), v ≤ t, is proven as t − v ∈ [0, 2^32) for the
//     commitment V = t·G − C, with blinding −r.
//   - [Between](lo, hi), lo ≤ v ≤ hi, is both: one aggregated proof of the
//     two ranges (section 4.3 of the paper, m = 2), the lower bound first.
//     It is smaller (929 bytes) and faster to check than two proofs.
//
// A statement therefore "holds" ([Statement.Holds]) only when each
// difference is in [0, 2^32): a value more than 2^32 − 1 = 4294967295
// above its minimum or below its maximum cannot be proven, even though the
// inequality is true, and the prover refuses with [ErrFalse]. For Between
// with hi − lo ≥ 2^32 the values in the middle of the interval cannot be
// proven. t·G uses the scalar of t as crypto/commit maps integers (t, or
// q − |t| for t < 0), so the differences are exact for all int64 values.
// The verifier learns the statement and nothing else about v.
//
// A [Statement] is valid ([Statement.Validate]) when its kind is "atLeast",
// "atMost" or "between", the threshold an atLeast (atMost) statement does
// not use, Max (Min), is zero, and Min ≤ Max for between.
//
// # Generators
//
// G and H are crypto/commit's: G the standard generator of G1 and
//
//	H = hash_to_curve("govhub/commit/v1/H", "GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_")
//
// The vector generators g_i, h_i (i = 0 … 63) and the inner-product point u
// are RFC 9380 hash_to_curve (BLS12381G1_XMD:SHA-256_SSWU_RO_) with
//
//	DST = "GOVHUB-RANGEPROOF-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
//	g_i = hash_to_curve("govhub/rangeproof/v1/g/" || decimal(i), DST)
//	h_i = hash_to_curve("govhub/rangeproof/v1/h/" || decimal(i), DST)
//	u   = hash_to_curve("govhub/rangeproof/v1/u", DST)
//
// where decimal(i) is i in ASCII decimal digits without leading zeros
// ("0", "1", … "63"). A proof of m ranges (m = 1 one-sided, m = 2 between)
// uses g_0 … g_(n−1) and h_0 … h_(n−1), n = 32·m. In compressed form:
//
//	g_0 = b55c8fe352b09b6356351a433b9c2d51057495f037f8a7a39e481099b9da8f11fb4cf0b6d5c27ce6f89d5a092af76a12
//	h_0 = 96785ded9881fcce6ec3b5d4ef024ae9bc63b11895be6dac71a131818353fce79d2b699eeaa3e30cdc3d459d16f55f3a
//	u   = 8fb05cf8a226a42b2c0369ef18e5fb01b9fbcd0b633d63d98ae7c540891d1a0993cb67f5e12eb5cc395f1a43f967077f
//
// testdata/vectors.json lists g_0 … g_3 and h_0 … h_3 as well.
//
// # Transcript
//
// The Fiat–Shamir transcript is a byte string T, initially empty, to which
// labelled fields are appended:
//
//	field(label, data) = u8(len(label)) || label || u64be(len(data)) || data
//
// (labels are ASCII; u8 and u64be are unsigned big-endian integers of 1 and
// 8 bytes). A challenge with label ℓ is
//
//	c = OS2IP(SHA-512(T || field(ℓ, u32be(ctr)))) mod q
//
// for ctr = 0, 1, … the first value that is not zero (so that every
// challenge is invertible; ctr > 0 has probability about 2^−255), after
// which field(ℓ, I2OSP(c, 32)) is appended to T. Reducing 64 bytes mod q
// leaves a bias below 2^−256.
//
// A proof about the commitment C (its 48 bytes), for the statement (kind,
// Min, Max) and the context bytes, starts T with, in this order:
//
//	field("protocol",   "govhub/rangeproof/v1")
//	field("scheme",     "pedersen-bls12381-g1/v1")       (commit.Scheme)
//	field("commitment", C)
//	field("kind",       "atLeast" | "atMost" | "between")
//	field("min",        i64be(Min))                      (two's complement)
//	field("max",        i64be(Max))
//	field("bits",       u64be(32))
//	field("context",    context)
//
// The context is whatever the proof is for, such as a certificate or
// request id; it is length-prefixed like every field, and a nil context is
// the same as an empty one. Then, in protocol order, with points in
// compressed form (48 bytes) and scalars as 32 big-endian bytes, field("A")
// standing for field("A", the encoding of A):
//
//	field("A"), field("S"), challenge "y", challenge "z",
//	field("T1"), field("T2"), challenge "x",
//	field("tau_x"), field("mu"), field("t"), challenge "w",
//	for each inner-product round k = 1 … log2(n):
//	    field("L", L_k), field("R", R_k), challenge "u" (u_k),
//	field("a"), field("b"), challenge "batch" (verifier only)
//
// # Protocol
//
// For m ranges with values d_j < 2^32 committed as V_j = d_j·G + γ_j·H
// (j = 0 … m−1, as in Statements), n = 32·m, all scalars mod q, and
// 2^k ∘ … the powers of 2 placed in the 32 slots of value j:
//
//	a_L = the bits of d_0, then of d_1 (least significant first); a_R = a_L − 1^n
//	α, ρ, τ_1, τ_2, s_L, s_R random (each from 64 bytes of rand, reduced mod q)
//	A = α·H + <a_L, g> + <a_R, h>          S = ρ·H + <s_L, g> + <s_R, h>
//	l(X) = a_L − z·1^n + s_L·X
//	r(X) = y^n ∘ (a_R + z·1^n + s_R·X) + Σ_j z^(2+j)·(0^(32j) || 2^32 || 0^(32(m−1−j)))
//	t(X) = <l(X), r(X)> = t_0 + t_1·X + t_2·X²
//	T_1 = t_1·G + τ_1·H                     T_2 = t_2·G + τ_2·H
//	l = l(x), r = r(x), t = <l, r>
//	τ_x = τ_2·x² + τ_1·x + Σ_j z^(2+j)·γ_j   μ = α + ρ·x
//
// where y^n = (1, y, …, y^(n−1)). The inner-product argument then proves
// <l, r> = t for the generators g and h'_i = y^(−i)·h_i with U = w·u. In
// each round the vectors (a, b, g, h') of even length are split in halves
// lo and hi (the first and second half) and
//
//	L = <a_lo, g_hi> + <b_hi, h'_lo> + <a_lo, b_hi>·U
//	R = <a_hi, g_lo> + <b_lo, h'_hi> + <a_hi, b_lo>·U
//	a ← u·a_lo + u⁻¹·a_hi      b ← u⁻¹·b_lo + u·b_hi
//	g ← u⁻¹·g_lo + u·g_hi      h' ← u·h'_lo + u⁻¹·h'_hi
//
// until a and b are single scalars a and b.
//
// # Verification
//
// The verifier replays the transcript and checks both equations of the
// protocol, combined with the weight c = challenge "batch" (derived after
// the whole proof, so a proof that fails either equation passes the
// combination with probability 1/q), as one multi-scalar multiplication
// that must be the point at infinity:
//
//	Σ_i (−z − a·s_i)·g_i
//	+ Σ_i (z + (z^(2+j(i))·2^(i mod 32) − b·s_i⁻¹)·y^(−i))·h_i
//	+ c·(δ − t − Σ_j σ_j·z^(2+j)·t_j)·G + (−μ − c·τ_x)·H + (t − a·b)·w·u
//	+ c·(Σ_j σ_j·z^(2+j))·C + A + x·S + c·x·T_1 + c·x²·T_2
//	+ Σ_k (u_k²·L_k + u_k^(−2)·R_k)  =  0
//
// where j(i) = ⌊i/32⌋, t_j is the threshold of range j and σ_j = +1 for a
// lower bound (V_j = C − t_j·G) and −1 for an upper bound (V_j = t_j·G − C),
//
//	δ = (z − z²)·Σ_{i<n} y^i − Σ_j z^(3+j)·(2^32 − 1)
//
// and s_i = Π_{k=1…log2 n} u_k^(±1), with +1 when bit log2(n) − k of i is
// set (round k splits on that bit). The first equation of the paper,
// t·G + τ_x·H = Σ_j z^(2+j)·V_j + δ·G + x·T_1 + x²·T_2, is the c part; the
// rest is the inner-product check of P + t·U, with
// P = A + x·S − z·Σ g_i + Σ_i (z·y^i + z^(2+j(i))·2^(i mod 32))·h'_i − μ·H.
//
// # Encoding
//
// A proof is 1 version byte followed by fixed-order fields; points are 48
// bytes in crypto/commit's compressed form and scalars are 32 bytes
// big-endian. Offsets for a one-sided proof (m = 1, 5 rounds, 833 bytes):
//
//	0    version, 0x01 ([Version])
//	1    A           49   S           97   T1          145  T2
//	193  tau_x       225  mu          257  t
//	289  L_1         337  R_1         385  L_2         433  R_2
//	481  L_3         529  R_3         577  L_4         625  R_4
//	673  L_5         721  R_5
//	769  a           801  b           (833 end)
//
// A between proof (m = 2) has a sixth round: L_6 at 769, R_6 at 817, a at
// 865, b at 897, 929 bytes in all ([ProofSize]). Each point must be the
// canonical compressed encoding (flag 0x80 set, 0x40 clear, x below the
// field modulus, the 0x20 sign flag as produced by the encoder) of a point
// of the prime-order subgroup other than the point at infinity; each
// scalar must be below q. Any other length, version, point or scalar is
// rejected with [ErrMalformed] before any challenge is computed.
//
// # Errors
//
// [Prove] returns an error wrapping [ErrInvalidStatement],
// commit.ErrInvalid or commit.ErrMismatch (the commitment does not open to
// the value and blinding given), or [ErrFalse]. [Verify] returns nil or an
// error wrapping [ErrInvalidStatement], commit.ErrInvalid, [ErrMalformed]
// or [ErrRejected]; it never panics on any input.
//
// # Performance and side channels
//
// Verifying costs one multi-scalar multiplication of 2n + 8 + 2·log2(n)
// points (82 one-sided, 148 between): 2.5 ms one-sided and 3.3 ms between;
// proving costs about 20 ms and 35 ms, including the check of the proof
// made (2-core AMD Turin-class VM, go test ./crypto/rangeproof -run '^$'
// -bench 'Prove|Verify' -benchtime 2s; up to twice as slow when the cores
// are busy with other work). The generators are derived on first use
// (129 hashes to the curve, about 30 ms).
//
// The prover is not constant-time: like gnark-crypto's scalar
// multiplication its timing may depend on the value and the blinding. Its
// zero-knowledge rests on the randomness: rand must give fresh uniform
// bytes for every proof (nil means crypto/rand); replaying the same
// randomness for two proofs of the same value may reveal it.
package rangeproof
