package rangeproof

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/govhub/govhub/crypto/commit"
)

// referenceVerify checks a proof the slow way, as the paper writes it: the
// commitments V_j as points, the two equations separately, and the
// inner-product argument by folding the generators round by round. It
// reports each equation, to check the single combined equation of verify.
func referenceVerify(t *testing.T, c commit.Commitment, s Statement, context, enc []byte) (first, ipa bool) {
	t.Helper()
	bs := s.bounds()
	m, n := len(bs), len(bs)*Bits
	p, err := parseProof(enc, m)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	var cPoint bls12381.G1Affine
	if _, err := cPoint.SetBytes(c[:]); err != nil {
		t.Fatal(err)
	}
	gens := generators()
	mul := func(pt *bls12381.G1Affine, s *fr.Element) bls12381.G1Jac {
		var j bls12381.G1Jac
		j.FromAffine(pt)
		j.ScalarMultiplication(&j, s.BigInt(new(big.Int)))
		return j
	}
	eq := func(a, b *bls12381.G1Jac) bool {
		var x, y bls12381.G1Affine
		x.FromJacobian(a)
		y.FromJacobian(b)
		return x.Equal(&y)
	}

	tr := newTranscript(c, s, context)
	tr.appendPoint("A", &p.A)
	tr.appendPoint("S", &p.S)
	y, z := tr.challenge("y"), tr.challenge("z")
	tr.appendPoint("T1", &p.T1)
	tr.appendPoint("T2", &p.T2)
	x := tr.challenge("x")
	tr.appendScalar("tau_x", &p.taux)
	tr.appendScalar("mu", &p.mu)
	tr.appendScalar("t", &p.that)
	w := tr.challenge("w")

	// V_j.
	V := make([]bls12381.G1Jac, m)
	for j, b := range bs {
		var tj fr.Element
		tj.SetInt64(b.t)
		tG := mul(&gens.g, &tj)
		V[j].FromAffine(&cPoint)
		V[j].SubAssign(&tG)
		if b.upper {
			V[j].Neg(&V[j])
		}
	}
	// t·G + τ_x·H = Σ z^(2+j)·V_j + δ·G + x·T_1 + x²·T_2.
	zPow := powers(&z, m+3)
	yPow := powers(&y, n+1)
	var delta, sumY, tmp fr.Element
	for i := range n {
		sumY.Add(&sumY, &yPow[i])
	}
	delta.Sub(&z, &zPow[2])
	delta.Mul(&delta, &sumY)
	var ones fr.Element
	ones.SetUint64(1<<Bits - 1)
	for j := range m {
		tmp.Mul(&zPow[3+j], &ones)
		delta.Sub(&delta, &tmp)
	}
	left := mul(&gens.g, &p.that)
	hTau := mul(&gens.h, &p.taux)
	left.AddAssign(&hTau)
	right := mul(&gens.g, &delta)
	for j := range m {
		var vj bls12381.G1Affine
		vj.FromJacobian(&V[j])
		e := mul(&vj, &zPow[2+j])
		right.AddAssign(&e)
	}
	var x2 fr.Element
	x2.Square(&x)
	e1, e2 := mul(&p.T1, &x), mul(&p.T2, &x2)
	right.AddAssign(&e1)
	right.AddAssign(&e2)
	first = eq(&left, &right)

	// P + t·U with h'_i = y^(−i)·h_i.
	var yInv fr.Element
	yInv.Inverse(&y)
	yInvPow := powers(&yInv, n)
	g := append([]bls12381.G1Affine(nil), gens.gs[:n]...)
	hp := make([]bls12381.G1Affine, n)
	for i := range n {
		j := mul(&gens.hs[i], &yInvPow[i])
		hp[i].FromJacobian(&j)
	}
	var P bls12381.G1Jac
	P.FromAffine(&p.A)
	xs := mul(&p.S, &x)
	P.AddAssign(&xs)
	var two fr.Element
	two.SetUint64(2)
	for i := range n {
		var nz fr.Element
		nz.Neg(&z)
		gi := mul(&g[i], &nz)
		P.AddAssign(&gi)
		var coef, pow2 fr.Element
		pow2.Exp(two, big.NewInt(int64(i%Bits)))
		pow2.Mul(&pow2, &zPow[2+i/Bits])
		coef.Mul(&z, &yPow[i])
		coef.Add(&coef, &pow2)
		hi := mul(&hp[i], &coef)
		P.AddAssign(&hi)
	}
	hMu := mul(&gens.h, &p.mu)
	P.SubAssign(&hMu)
	uj := mul(&gens.u, &w)
	var U bls12381.G1Affine
	U.FromJacobian(&uj)
	tU := mul(&U, &p.that)
	P.AddAssign(&tU)
	for k := range p.L {
		tr.appendPoint("L", &p.L[k])
		tr.appendPoint("R", &p.R[k])
		u := tr.challenge("u")
		var u2, uInv, uInv2 fr.Element
		u2.Square(&u)
		uInv.Inverse(&u)
		uInv2.Square(&uInv)
		l, r := mul(&p.L[k], &u2), mul(&p.R[k], &uInv2)
		P.AddAssign(&l)
		P.AddAssign(&r)
		half := len(g) / 2
		g = fold(g[:half], g[half:], &uInv, &u)
		hp = fold(hp[:half], hp[half:], &u, &uInv)
	}
	var ab fr.Element
	ab.Mul(&p.a, &p.b)
	want := mul(&g[0], &p.a)
	hb := mul(&hp[0], &p.b)
	abU := mul(&U, &ab)
	want.AddAssign(&hb)
	want.AddAssign(&abU)
	ipa = eq(&P, &want)
	return first, ipa
}

// TestReferenceVerify checks the combined equation of Verify against the
// two equations checked separately, on honest, cheating and altered proofs.
func TestReferenceVerify(t *testing.T) {
	rnd := testRand("TestReferenceVerify")
	ctx := []byte("reference")
	check := func(name string, c commit.Commitment, s Statement, proof []byte, wantFirst, wantIPA bool) {
		t.Helper()
		first, ipa := referenceVerify(t, c, s, ctx, proof)
		if first != wantFirst || ipa != wantIPA {
			t.Errorf("%s: reference equations %v, %v; want %v, %v", name, first, ipa, wantFirst, wantIPA)
		}
		err := Verify(c, s, ctx, proof)
		if (err == nil) != (first && ipa) {
			t.Errorf("%s: Verify = %v, reference %v", name, err, first && ipa)
		}
	}
	for _, s := range []Statement{AtLeast(-3), AtMost(3), Between(-3, 3)} {
		c, r := committed(t, rnd, 1)
		p, err := Prove(rnd, c, 1, r, s, ctx)
		if err != nil {
			t.Fatal(err)
		}
		check("honest "+s.String(), c, s, p, true, true)

		// The inner-product scalar a changed: the first equation still
		// holds, the inner-product one does not.
		q := bytes.Clone(p)
		var a fr.Element
		off := len(q) - 64
		a.SetBytes(q[off : off+32])
		a.Add(&a, &a)
		ab := a.Bytes()
		copy(q[off:], ab[:])
		check("a doubled "+s.String(), c, s, q, true, false)

		// tau_x changed: the first equation fails; the inner product
		// argument does not involve tau_x but its challenges change, so
		// it fails too.
		q = bytes.Clone(p)
		var tx fr.Element
		tx.SetBytes(q[offTaux : offTaux+32])
		tx.Add(&tx, &tx)
		txb := tx.Bytes()
		copy(q[offTaux:], txb[:])
		first, _ := referenceVerify(t, c, s, ctx, q)
		if first || Verify(c, s, ctx, q) == nil {
			t.Errorf("tau_x doubled %v: accepted", s)
		}

		// A cheating prover for a difference that is not committed.
		bs := s.bounds()
		var gamma fr.Element
		if err := gamma.SetBytesCanonical(r[:]); err != nil {
			t.Fatal(err)
		}
		claims := make([]uint64, len(bs))
		gammas := make([]fr.Element, len(bs))
		for j, b := range bs {
			d, _ := b.diff(1)
			claims[j] = d + 1
			gammas[j] = gamma
			if b.upper {
				gammas[j].Neg(&gamma)
			}
		}
		cp, err := prove(rnd, newTranscript(c, s, ctx), claims, gammas)
		if err != nil {
			t.Fatal(err)
		}
		// The inner-product argument is honest for the vectors committed in
		// A and S; only the first equation catches the wrong value.
		check("cheat "+s.String(), c, s, cp.marshal(), false, true)
	}
}

// TestTranscriptLayout checks the start of the transcript byte for byte
// against the package documentation.
func TestTranscriptLayout(t *testing.T) {
	var c commit.Commitment
	for i := range c {
		c[i] = byte(i)
	}
	field := func(label string, data []byte) []byte {
		out := []byte{byte(len(label))}
		out = append(out, label...)
		out = binary.BigEndian.AppendUint64(out, uint64(len(data)))
		return append(out, data...)
	}
	i64 := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	var want []byte
	want = append(want, field("protocol", []byte("govhub/rangeproof/v1"))...)
	want = append(want, field("scheme", []byte("pedersen-bls12381-g1/v1"))...)
	want = append(want, field("commitment", c[:])...)
	want = append(want, field("kind", []byte("between"))...)
	want = append(want, field("min", i64(-2))...)
	want = append(want, field("max", i64(1<<40))...)
	want = append(want, field("bits", i64(32))...)
	want = append(want, field("context", []byte("ctx"))...)
	tr := newTranscript(c, Between(-2, 1<<40), []byte("ctx"))
	if !bytes.Equal(tr.t, want) {
		t.Fatalf("transcript start\n%x\nwant\n%x", tr.t, want)
	}
	if !bytes.HasPrefix(want, []byte("\x08protocol\x00\x00\x00\x00\x00\x00\x00\x14govhub/rangeproof/v1")) {
		t.Fatal("field encoding differs from the documentation")
	}
	if !bytes.Contains(want, []byte("\x03min\x00\x00\x00\x00\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff\xff\xfe")) {
		t.Fatal("min is not two's complement big-endian")
	}
	// A challenge: OS2IP(SHA-512(T || field(label, u32be(0)))) mod q,
	// then appended.
	before := bytes.Clone(tr.t)
	got := tr.challenge("y")
	h := sha512Sum(append(bytes.Clone(before), field("y", []byte{0, 0, 0, 0})...))
	var wantC fr.Element
	wantC.SetBigInt(new(big.Int).SetBytes(h[:]))
	if !got.Equal(&wantC) {
		t.Fatal("challenge differs from the documentation")
	}
	cb := wantC.Bytes()
	if !bytes.Equal(tr.t, append(before, field("y", cb[:])...)) {
		t.Fatal("the challenge is not appended as documented")
	}
}

// TestBetweenOffsets checks the documented offsets of a between proof.
func TestBetweenOffsets(t *testing.T) {
	rnd := testRand("TestBetweenOffsets")
	s := Between(0, 10)
	_, enc := mustProve(t, rnd, 5, s, "")
	p, err := parseProof(enc, 2)
	if err != nil {
		t.Fatal(err)
	}
	l6, r6, a, b := p.L[5].Bytes(), p.R[5].Bytes(), p.a.Bytes(), p.b.Bytes()
	if len(enc) != 929 || !bytes.Equal(enc[769:817], l6[:]) || !bytes.Equal(enc[817:865], r6[:]) ||
		!bytes.Equal(enc[865:897], a[:]) || !bytes.Equal(enc[897:929], b[:]) {
		t.Fatal("between proof layout differs from the documentation")
	}
	t1, mu := p.T1.Bytes(), p.mu.Bytes()
	if !bytes.Equal(enc[97:145], t1[:]) || !bytes.Equal(enc[225:257], mu[:]) {
		t.Fatal("proof layout differs from the documentation")
	}
}
