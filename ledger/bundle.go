package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// BundleData is one entry bundle (C2SP tlog-tiles): entries 256·N … 256·N+Count-1, each as a
// big-endian uint16 length followed by the entry's bytes. A bundle of Count < 256 is partial.
type BundleData struct {
	N     uint64
	Count int
	Data  []byte
}

// AppendBundleEntry appends one length-prefixed entry to bundle data.
func AppendBundleEntry(data, entry []byte) []byte {
	data = binary.BigEndian.AppendUint16(data, uint16(len(entry)))
	return append(data, entry...)
}

// ParseBundle splits bundle data into its entries.
func ParseBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("ledger: truncated entry bundle")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("ledger: truncated entry bundle")
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}

// BundlePrefix returns the data of the first w entries of a bundle (a partial bundle of width w).
func BundlePrefix(data []byte, w int) ([]byte, error) {
	off := 0
	for i := 0; i < w; i++ {
		if len(data) < off+2 {
			return nil, fmt.Errorf("ledger: entry bundle has fewer than %d entries", w)
		}
		off += 2 + int(binary.BigEndian.Uint16(data[off:]))
		if off > len(data) {
			return nil, errors.New("ledger: truncated entry bundle")
		}
	}
	return data[:off], nil
}

// bundler builds the entry bundles at the end of the log as entries are integrated.
type bundler struct {
	n     uint64 // the bundle being filled
	data  []byte
	count int
	dirty bool
	done  []BundleData // completed since the last changed()
}

// loadBundler picks up the partial bundle of a log of the given size.
func loadBundler(ctx context.Context, bs BundleStorage, size uint64) (*bundler, error) {
	b := &bundler{n: size / tileWidth}
	w := int(size % tileWidth)
	if w == 0 {
		return b, nil
	}
	data, err := bs.ReadBundle(ctx, b.n)
	if err != nil {
		return nil, fmt.Errorf("reading entry bundle %d: %w", b.n, err)
	}
	if b.data, err = BundlePrefix(data, w); err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", b.n, err)
	}
	b.data = bytes.Clone(b.data)
	b.count = w
	return b, nil
}

// add appends the entry at index (the next one).
func (b *bundler) add(index uint64, entry []byte) {
	if n := index / tileWidth; n != b.n {
		b.n, b.data, b.count = n, nil, 0
	}
	b.data = AppendBundleEntry(b.data, entry)
	b.count++
	b.dirty = true
	if b.count == tileWidth {
		b.done = append(b.done, BundleData{N: b.n, Count: b.count, Data: b.data})
		b.n, b.data, b.count, b.dirty = b.n+1, nil, 0, false
	}
}

// changed returns the bundles completed or extended since the last call.
func (b *bundler) changed() []BundleData {
	out := b.done
	b.done = nil
	if b.dirty {
		out = append(out, BundleData{N: b.n, Count: b.count, Data: bytes.Clone(b.data)})
		b.dirty = false
	}
	return out
}
