package mongostore

import (
	"fmt"
	"runtime"
	"testing"
)

// A full seqCache forgets the citizen it used longest ago, not all of them: a hub serving more
// citizens than it holds still knows the log ends of those it appended for lately. A seq is never
// moved back.
func TestSeqCacheForgetsOldestOnly(t *testing.T) {
	var c seqCache
	for i := range seqCacheSize {
		c.put(fmt.Sprint("p", i), 5)
	}
	if _, ok := c.get("p0"); !ok { // p0 is now the latest used
		t.Fatal("p0 forgotten before the cache was full")
	}
	c.put("new", 1)
	if _, ok := c.get("p1"); ok {
		t.Error("p1, used longest ago, is still remembered")
	}
	for _, p := range []string{"p0", "new", fmt.Sprint("p", seqCacheSize-1)} {
		if _, ok := c.get(p); !ok {
			t.Errorf("%s forgotten", p)
		}
	}
	c.put("p0", 3)
	if seq, _ := c.get("p0"); seq != 5 {
		t.Errorf("p0's seq moved back to %d, want 5", seq)
	}
}

// BenchmarkSeqCacheMemory reports the heap a full seqCache holds per citizen, with pseudonyms of 43
// characters (base64url of 32 bytes): go test ./store/mongostore -run '^$' -bench SeqCacheMemory -benchtime 1x
func BenchmarkSeqCacheMemory(b *testing.B) {
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var c seqCache
		for i := range seqCacheSize {
			c.put(fmt.Sprintf("%043d", i), uint64(i+1))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/seqCacheSize, "B/citizen")
		runtime.KeepAlive(&c)
	}
}
