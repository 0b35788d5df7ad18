package credential

import (
	"errors"
	"fmt"
)

// base58 is the Bitcoin alphabet of the Base58 encoding scheme (draft-msporny-base58-03, section 2),
// used by multibase's base-58-btc encoding (prefix 'z').
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// maxBase58Len bounds the strings decodeBase58 accepts: the algorithm is quadratic and nothing
// this package decodes (a 64-byte signature, a 34-byte multikey) needs more than 90 characters.
const maxBase58Len = 256

var base58Index = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// encodeBase58 encodes b as described in draft-msporny-base58-03 section 3: each leading zero
// byte becomes a '1', the rest is the big-endian number written in base 58.
func encodeBase58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	var digits []byte // little-endian base-58 digits of b[zeros:]
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := range digits {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, zeros+len(digits))
	for i := 0; i < zeros; i++ {
		out[i] = '1'
	}
	for i, d := range digits {
		out[len(out)-1-i] = base58Alphabet[d]
	}
	return string(out)
}

// decodeBase58 inverts encodeBase58 (draft-msporny-base58-03 section 4). Encoding is a bijection
// between byte strings and base-58 strings, so a decoded value has exactly one encoding.
func decodeBase58(s string) ([]byte, error) {
	if len(s) > maxBase58Len {
		return nil, errors.New("base58: string too long")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	var num []byte // little-endian base-256 digits
	for i := zeros; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("base58: invalid character %q at %d", s[i], i)
		}
		carry := int(v)
		for j := range num {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append(num, byte(carry))
			carry >>= 8
		}
	}
	out := make([]byte, zeros+len(num))
	for i, d := range num {
		out[len(out)-1-i] = d
	}
	return out, nil
}

// multibaseBase58 is the multibase header of base-58-btc (Controlled Identifiers v1.0, "Multibase").
const multibaseBase58 = 'z'

func encodeMultibase(b []byte) string { return string(multibaseBase58) + encodeBase58(b) }

func decodeMultibase(s string) ([]byte, error) {
	if len(s) == 0 || s[0] != multibaseBase58 {
		return nil, errors.New("multibase: not base-58-btc (must start with 'z')")
	}
	return decodeBase58(s[1:])
}
