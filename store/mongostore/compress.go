package mongostore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// The ledger's entries are stored compressed: a batch's entries and an entry bundle's data are
// written as one zstd frame each (field z; RFC 8878, the fastest level), about three times smaller
// than as they are (an entry bundle of the demo store: 132,253 bytes to 43,760), since an entry's
// text repeats its line names and its hex digits carry four bits a byte. On the embedded store every byte a write carries is converted to FerretDB's JSON and
// parsed again by SQLite while the store's one writer waits, so fewer bytes there are more writes
// a second. Documents written before (fields leaves and data) are read as they are.
//
// A batch's entries are packed before compressing as, for each entry in order, its length as an
// unsigned varint (encoding/binary) then its bytes; a bundle's data is already the C2SP
// tlog-tiles form (a big-endian uint16 length before each entry) and is compressed as it is.

// maxDecompressed bounds what one stored frame may decompress to: a batch or a bundle holds at most
// a few hundred entries of at most 64 KiB.
const maxDecompressed = 64 << 20

var (
	// One encoder and one decoder a core (their default): EncodeAll and DecodeAll wait for a free
	// one, and the sequencer and the integrator compress at the same time.
	zEncoder = must(zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest)))
	zDecoder = must(zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecompressed)))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// compress returns data as one zstd frame.
func compress(data []byte) []byte { return zEncoder.EncodeAll(data, make([]byte, 0, len(data)/2)) }

// decompress returns the data of one zstd frame written by compress.
func decompress(z []byte) ([]byte, error) {
	data, err := zDecoder.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	return data, nil
}

// packLeaves writes leaves one after the other, each after its length (uvarint).
func packLeaves(leaves [][]byte) []byte {
	n := 0
	for _, l := range leaves {
		n += binary.MaxVarintLen32 + len(l)
	}
	out := make([]byte, 0, n)
	for _, l := range leaves {
		out = binary.AppendUvarint(out, uint64(len(l)))
		out = append(out, l...)
	}
	return out
}

// unpackLeaves splits what packLeaves wrote.
func unpackLeaves(packed []byte) ([][]byte, error) {
	var leaves [][]byte
	for len(packed) > 0 {
		n, k := binary.Uvarint(packed)
		if k <= 0 || n > uint64(len(packed)-k) {
			return nil, errors.New("truncated entries")
		}
		leaves = append(leaves, packed[k:k+int(n)])
		packed = packed[k+int(n):]
	}
	return leaves, nil
}
