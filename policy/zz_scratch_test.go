package policy

import (
	"testing"
)

func BenchmarkScratchParts(b *testing.B) {
	p := newBenchPolicy(b, 100_000)
	b.Run("prepare", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := p.engine.newSnapshot(p.info, p.loader, nil)
			b.StartTimer()
			s.Prepare(b.Context(), benchSub, queryDatasets())
		}
	})
	b.Run("decide-after-prepare", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := p.engine.newSnapshot(p.info, p.loader, nil)
			s.Prepare(b.Context(), benchSub, queryDatasets())
			b.StartTimer()
			for _, f := range query {
				s.Decide(benchSub, f, benchPurpose)
			}
		}
	})
	b.Run("decide-enforcers-built", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := p.engine.newSnapshot(p.info, p.loader, nil)
			s.Prepare(b.Context(), benchSub, queryDatasets())
			for _, f := range query {
				s.partition(benchSub.Department, f).enforcer(benchPurpose)
			}
			b.StartTimer()
			for _, f := range query {
				s.Decide(benchSub, f, benchPurpose)
			}
		}
	})
	s := p.engine.newSnapshot(p.info, p.loader, nil)
	s.Prepare(b.Context(), benchSub, queryDatasets())
	n := 0
	for _, f := range query {
		pt := s.partition(benchSub.Department, f)
		e, _ := pt.enforcer(benchPurpose)
		if e != nil {
			n += len(e.GetModel()["p"]["p"].Policy)
		}
	}
	b.Logf("rules in the 20 enforcers: %d", n)
}
