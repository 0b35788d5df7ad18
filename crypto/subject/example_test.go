package subject_test

import (
	"bytes"
	"fmt"

	"github.com/govhub/govhub/crypto/subject"
)

// A citizen holding the salt of an entry recomputes its subject commitment and finds themselves
// among the entry's subjects.
func Example() {
	salt := bytes.Repeat([]byte{0x01}, subject.SaltSize)
	indexKey := bytes.Repeat([]byte{0x02}, subject.KeySize)

	fmt.Printf("commitment %x\n", subject.Commit(salt, "C000001"))
	fmt.Println("pseudonym ", subject.Pseudonym(indexKey, "C000001"))
	fmt.Printf("request    %x\n", subject.RequestDigest(indexKey, []byte(`{"query":"{ me { kind } }"}`)))
	// Output:
	// commitment ea0400a9b21a5cdeb8f524660c14fe6406b6053e4d89afcf3342a347b9038007
	// pseudonym  48a6f77ecac642e62c6b18b4009a8b8f
	// request    f1928402166c84ab2106778afa6087cb70aff74eb9c62c7320b0f6794a810f8b
}
