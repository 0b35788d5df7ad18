package rangeproof

import (
	"crypto/sha512"
	"encoding/binary"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// transcript is the Fiat–Shamir transcript: the byte string T of the package
// documentation, with every labelled field appended in order.
type transcript struct {
	t []byte
}

// appendField appends u8(len(label)) || label || u64be(len(data)) || data.
func (tr *transcript) appendField(label string, data []byte) {
	if len(label) > 255 {
		panic("rangeproof: transcript label too long") // labels are constants
	}
	tr.t = append(tr.t, byte(len(label)))
	tr.t = append(tr.t, label...)
	tr.t = binary.BigEndian.AppendUint64(tr.t, uint64(len(data)))
	tr.t = append(tr.t, data...)
}

func (tr *transcript) appendUint64(label string, v uint64) {
	tr.appendField(label, binary.BigEndian.AppendUint64(nil, v))
}

func (tr *transcript) appendScalar(label string, s *fr.Element) {
	b := s.Bytes()
	tr.appendField(label, b[:])
}

// challenge derives a non-zero scalar: for ctr = 0, 1, …, the first non-zero
// OS2IP(SHA-512(T || field(label, u32be(ctr)))) mod q. The challenge is
// then appended to T as field(label, its 32 big-endian bytes).
func (tr *transcript) challenge(label string) fr.Element {
	var c fr.Element
	for ctr := uint32(0); ; ctr++ {
		h := sha512.New()
		h.Write(tr.t)
		var f transcript
		f.appendField(label, binary.BigEndian.AppendUint32(nil, ctr))
		h.Write(f.t)
		c.SetBytes(h.Sum(nil)) // 64 bytes, reduced mod q
		if !c.IsZero() {
			break
		}
	}
	tr.appendScalar(label, &c)
	return c
}
