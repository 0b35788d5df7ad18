package mongostore

import (
	"bytes"
	"slices"
	"testing"
)

// The saved access-log ends' packed form (logends.go), with the package doc's example.
func TestLogEndsPackVectors(t *testing.T) {
	var c seqCache
	c.put("ab", 3)
	c.put("c", 300)
	packed, n := c.pack()
	want := []byte{0x02, 'a', 'b', 0x03, 0x01, 'c', 0xac, 0x02}
	if n != 2 || !bytes.Equal(packed, want) {
		t.Fatalf("pack = % x (%d), want % x (2)", packed, n, want)
	}
	ends, err := unpackLogEnds(packed)
	if err != nil || !slices.Equal(ends, []logEndOf{{"ab", 3}, {"c", 300}}) {
		t.Fatalf("unpackLogEnds = %v, %v", ends, err)
	}
	// Least recently used first: a get moves "ab" after "c".
	c.get("ab")
	if packed, _ := c.pack(); !bytes.Equal(packed, []byte{0x01, 'c', 0xac, 0x02, 0x02, 'a', 'b', 0x03}) {
		t.Errorf("pack after a use of ab = % x", packed)
	}
	if packed, n := (&seqCache{}).pack(); n != 0 || packed != nil {
		t.Errorf("an empty cache packs to % x (%d)", packed, n)
	}
	for _, bad := range [][]byte{
		{0x02, 'a'},       // pseudonym cut short
		{0x00, 0x03},      // empty pseudonym
		{0x01, 'c'},       // no seq
		{0x01, 'c', 0x00}, // seq 0
		{0x01, 'c', 0xac}, // seq cut short
		{0x80},            // length cut short
	} {
		if ends, err := unpackLogEnds(bad); err == nil {
			t.Errorf("unpackLogEnds(% x) = %v, want an error", bad, ends)
		}
	}
}
