package rangeproof

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/govhub/govhub/crypto/commit"
)

// Protocol is the protocol label and version bound first in every
// transcript.
const Protocol = "govhub/rangeproof/v1"

// ErrFalse means the statement does not hold for the value, so the honest
// prover refuses to prove it.
var ErrFalse = errors.New("rangeproof: the statement does not hold for the value")

// newTranscript starts the transcript of a proof about c (see the package
// documentation).
func newTranscript(c commit.Commitment, s Statement, context []byte) *transcript {
	tr := &transcript{t: make([]byte, 0, 4096)}
	tr.appendField("protocol", []byte(Protocol))
	tr.appendField("scheme", []byte(commit.Scheme))
	tr.appendField("commitment", c[:])
	tr.appendField("kind", []byte(s.Kind))
	tr.appendUint64("min", uint64(s.Min))
	tr.appendUint64("max", uint64(s.Max))
	tr.appendUint64("bits", Bits)
	tr.appendField("context", context)
	return tr
}

func (tr *transcript) appendPoint(label string, p *bls12381.G1Affine) {
	b := p.Bytes()
	tr.appendField(label, b[:])
}

// Prove proves that the integer v committed in c with blinding r satisfies
// s, binding the proof to context (for example a certificate or request
// id: the proof verifies only with the same context). It reads its
// randomness from rand, or from crypto/rand if rand is nil.
//
// Prove first checks that s is valid and that c opens to (v, r) (errors
// wrapping [ErrInvalidStatement], [commit.ErrInvalid] or
// [commit.ErrMismatch]), then returns [ErrFalse] if s does not hold for v.
// It checks the proof it made before returning it.
func Prove(rand io.Reader, c commit.Commitment, v int64, r commit.Blinding, s Statement, context []byte) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := commit.Verify(c, commit.Int(v), r); err != nil {
		return nil, fmt.Errorf("rangeproof: proving: %w", err)
	}
	if !s.Holds(v) {
		return nil, ErrFalse
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	var gamma fr.Element
	if err := gamma.SetBytesCanonical(r[:]); err != nil {
		return nil, fmt.Errorf("rangeproof: proving: blinding: %w", commit.ErrInvalid)
	}
	bs := s.bounds()
	values := make([]uint64, len(bs))
	gammas := make([]fr.Element, len(bs))
	for j, b := range bs {
		values[j], _ = b.diff(v)
		gammas[j] = gamma
		if b.upper {
			gammas[j].Neg(&gamma)
		}
	}
	p, err := prove(rand, newTranscript(c, s, context), values, gammas)
	if err != nil {
		return nil, err
	}
	out := p.marshal()
	if err := Verify(c, s, context, out); err != nil {
		return nil, fmt.Errorf("rangeproof: proving: the proof made does not verify: %v", err)
	}
	return out, nil
}

// randomScalar reads 64 bytes from rand and reduces them mod q.
func randomScalar(rand io.Reader, s *fr.Element) error {
	var b [64]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return fmt.Errorf("rangeproof: reading randomness: %w", err)
	}
	s.SetBytes(b[:])
	return nil
}

// msm returns Σ scalars[i]·points[i].
func msm(points []bls12381.G1Affine, scalars []fr.Element) bls12381.G1Affine {
	var p bls12381.G1Affine
	if _, err := p.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		panic("rangeproof: " + err.Error()) // only on mismatched lengths
	}
	return p
}

// inner returns Σ a[i]·b[i].
func inner(a, b []fr.Element) fr.Element {
	var sum, t fr.Element
	for i := range a {
		t.Mul(&a[i], &b[i])
		sum.Add(&sum, &t)
	}
	return sum
}

// prove is the Bulletproofs prover (Bünz et al. 2018, sections 4.2 and 4.3,
// with the inner-product argument of section 3) for the values committed as
// V_j = values[j]·G + gammas[j]·H, each below 2^Bits.
func prove(rand io.Reader, tr *transcript, values []uint64, gammas []fr.Element) (*proof, error) {
	gens := generators()
	m := len(values)
	n := m * Bits

	// Random scalars: alpha, rho, tau1, tau2, then sL and sR.
	var alpha, rho, tau1, tau2 fr.Element
	for _, s := range []*fr.Element{&alpha, &rho, &tau1, &tau2} {
		if err := randomScalar(rand, s); err != nil {
			return nil, err
		}
	}
	sL := make([]fr.Element, n)
	sR := make([]fr.Element, n)
	for i := range n {
		if err := randomScalar(rand, &sL[i]); err != nil {
			return nil, err
		}
	}
	for i := range n {
		if err := randomScalar(rand, &sR[i]); err != nil {
			return nil, err
		}
	}

	// aL holds the bits of the values, value j in [j·Bits, (j+1)·Bits),
	// least significant first; aR = aL − 1.
	aL := make([]fr.Element, n)
	aR := make([]fr.Element, n)
	one := fr.One()
	for j, v := range values {
		for i := range Bits {
			k := j*Bits + i
			if v>>i&1 == 1 {
				aL[k].SetOne()
			}
			aR[k].Sub(&aL[k], &one)
		}
	}

	// A = alpha·H + <aL, g> + <aR, h>; S = rho·H + <sL, g> + <sR, h>.
	points := make([]bls12381.G1Affine, 0, 2*n+1)
	points = append(points, gens.h)
	points = append(points, gens.gs[:n]...)
	points = append(points, gens.hs[:n]...)
	sc := make([]fr.Element, 0, 2*n+1)
	sc = append(append(append(sc, alpha), aL...), aR...)
	p := &proof{}
	p.A = msm(points, sc)
	sc = append(append(append(sc[:0], rho), sL...), sR...)
	p.S = msm(points, sc)
	tr.appendPoint("A", &p.A)
	tr.appendPoint("S", &p.S)
	y := tr.challenge("y")
	z := tr.challenge("z")

	// l(X) = (aL − z·1) + sL·X
	// r(X) = y^n ∘ (aR + z·1 + sR·X) + Σ_j z^(2+j)·(0 … 2^Bits … 0)
	yPow := powers(&y, n)
	zPow := powers(&z, m+3) // z^0 … z^(m+2)
	l0 := make([]fr.Element, n)
	l1 := sL
	r0 := make([]fr.Element, n)
	r1 := make([]fr.Element, n)
	var two fr.Element
	two.SetUint64(2)
	for j := range m {
		var pow2 fr.Element // z^(2+j)·2^i
		pow2.Set(&zPow[2+j])
		for i := range Bits {
			k := j*Bits + i
			l0[k].Sub(&aL[k], &z)
			r0[k].Add(&aR[k], &z)
			r0[k].Mul(&r0[k], &yPow[k])
			r0[k].Add(&r0[k], &pow2)
			r1[k].Mul(&sR[k], &yPow[k])
			pow2.Mul(&pow2, &two)
		}
	}
	// t(X) = <l(X), r(X)> = t0 + t1·X + t2·X²
	t1a, t1b := inner(l0, r1), inner(l1, r0)
	var t1 fr.Element
	t1.Add(&t1a, &t1b)
	t2 := inner(l1, r1)
	gh := []bls12381.G1Affine{gens.g, gens.h}
	p.T1 = msm(gh, []fr.Element{t1, tau1})
	p.T2 = msm(gh, []fr.Element{t2, tau2})
	tr.appendPoint("T1", &p.T1)
	tr.appendPoint("T2", &p.T2)
	x := tr.challenge("x")

	l := make([]fr.Element, n)
	r := make([]fr.Element, n)
	for i := range n {
		var t fr.Element
		t.Mul(&l1[i], &x)
		l[i].Add(&l0[i], &t)
		t.Mul(&r1[i], &x)
		r[i].Add(&r0[i], &t)
	}
	p.that = inner(l, r)
	// tau_x = tau2·x² + tau1·x + Σ_j z^(2+j)·gamma_j; mu = alpha + rho·x.
	var t fr.Element
	p.taux.Mul(&tau2, &x)
	p.taux.Add(&p.taux, &tau1)
	p.taux.Mul(&p.taux, &x)
	for j := range m {
		t.Mul(&zPow[2+j], &gammas[j])
		p.taux.Add(&p.taux, &t)
	}
	p.mu.Mul(&rho, &x)
	p.mu.Add(&p.mu, &alpha)
	tr.appendScalar("tau_x", &p.taux)
	tr.appendScalar("mu", &p.mu)
	tr.appendScalar("t", &p.that)
	w := tr.challenge("w")

	// Inner-product argument for <l, r> = t on the generators g and
	// h'_i = y^(−i)·h_i, with U = w·u. The folded generators are never
	// computed: after some rounds, the generator at position i of a vector
	// of length k is Σ_{j ≡ i mod k} wg_j·g_j (and wh_j·h_j for h'), so L
	// and R are multi-scalar multiplications over the original generators.
	var yInv fr.Element
	yInv.Inverse(&y)
	wg := make([]fr.Element, n)
	for i := range wg {
		wg[i].SetOne()
	}
	wh := powers(&yInv, n)
	pts := make([]bls12381.G1Affine, 0, n+1)
	scs := make([]fr.Element, 0, n+1)
	a, b := l, r
	for k := n; k > 1; k /= 2 {
		half := k / 2
		cL, cR := inner(a[:half], b[half:]), inner(a[half:], b[:half])
		cL.Mul(&cL, &w)
		cR.Mul(&cR, &w)

		// L = <a_lo, g_hi> + <b_hi, h'_lo> + cL·U
		// R = <a_hi, g_lo> + <b_lo, h'_hi> + cR·U
		var Lk, Rk bls12381.G1Affine
		for side := range 2 {
			pts, scs = pts[:0], scs[:0]
			for j := range n {
				i := j % k
				var e fr.Element
				switch {
				case side == 0 && i >= half:
					e.Mul(&a[i-half], &wg[j])
					pts, scs = append(pts, gens.gs[j]), append(scs, e)
				case side == 0:
					e.Mul(&b[i+half], &wh[j])
					pts, scs = append(pts, gens.hs[j]), append(scs, e)
				case i < half:
					e.Mul(&a[i+half], &wg[j])
					pts, scs = append(pts, gens.gs[j]), append(scs, e)
				default:
					e.Mul(&b[i-half], &wh[j])
					pts, scs = append(pts, gens.hs[j]), append(scs, e)
				}
			}
			if side == 0 {
				Lk = msm(append(pts, gens.u), append(scs, cL))
			} else {
				Rk = msm(append(pts, gens.u), append(scs, cR))
			}
		}
		p.L = append(p.L, Lk)
		p.R = append(p.R, Rk)
		tr.appendPoint("L", &Lk)
		tr.appendPoint("R", &Rk)
		u := tr.challenge("u")
		var uInv fr.Element
		uInv.Inverse(&u)

		// a' = u·a_lo + u⁻¹·a_hi, b' = u⁻¹·b_lo + u·b_hi,
		// g' = u⁻¹·g_lo + u·g_hi, h' = u·h'_lo + u⁻¹·h'_hi.
		na := make([]fr.Element, half)
		nb := make([]fr.Element, half)
		for i := range half {
			var s, t fr.Element
			s.Mul(&a[i], &u)
			t.Mul(&a[i+half], &uInv)
			na[i].Add(&s, &t)
			s.Mul(&b[i], &uInv)
			t.Mul(&b[i+half], &u)
			nb[i].Add(&s, &t)
		}
		for j := range n {
			if j%k < half {
				wg[j].Mul(&wg[j], &uInv)
				wh[j].Mul(&wh[j], &u)
			} else {
				wg[j].Mul(&wg[j], &u)
				wh[j].Mul(&wh[j], &uInv)
			}
		}
		a, b = na, nb
	}
	p.a, p.b = a[0], b[0]
	return p, nil
}

// powers returns x^0 … x^(k−1).
func powers(x *fr.Element, k int) []fr.Element {
	out := make([]fr.Element, k)
	if k == 0 {
		return out
	}
	out[0].SetOne()
	for i := 1; i < k; i++ {
		out[i].Mul(&out[i-1], x)
	}
	return out
}
