package rangeproof

import (
	"testing"
)

func benchStatements() []struct {
	name string
	s    Statement
} {
	return []struct {
		name string
		s    Statement
	}{
		{"atLeast", AtLeast(18)},
		{"between", Between(18, 65)},
	}
}

func BenchmarkProve(b *testing.B) {
	for _, bc := range benchStatements() {
		b.Run(bc.name, func(b *testing.B) {
			rnd := testRand("BenchmarkProve")
			c, r := committed(b, rnd, 42)
			generators()
			var p []byte
			for b.Loop() {
				var err error
				p, err = Prove(rnd, c, 42, r, bc.s, []byte("bench"))
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(p)), "proof-bytes")
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range benchStatements() {
		b.Run(bc.name, func(b *testing.B) {
			rnd := testRand("BenchmarkVerify")
			c, p := mustProve(b, rnd, 42, bc.s, "bench")
			for b.Loop() {
				if err := Verify(c, bc.s, []byte("bench"), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(p)), "proof-bytes")
		})
	}
}
