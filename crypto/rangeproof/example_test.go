package rangeproof_test

import (
	"fmt"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
)

// A citizen's birth year is committed; the hub proves it is at most 2007
// (the citizen is an adult) for one certificate, without revealing it.
func Example() {
	const birthYear = 1985
	r, err := commit.NewBlinding(nil)
	if err != nil {
		panic(err)
	}
	c := commit.Commit(commit.Int(birthYear), r)

	s := rangeproof.AtMost(2007)
	certificate := []byte("certificate 2026-000123")
	proof, err := rangeproof.Prove(nil, c, birthYear, r, s, certificate)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(proof), "bytes")

	// Anyone with the commitment checks the proof.
	fmt.Println(rangeproof.Verify(c, s, certificate, proof))
	// It proves nothing about another threshold or certificate.
	fmt.Println(rangeproof.Verify(c, rangeproof.AtMost(2006), certificate, proof) != nil)
	fmt.Println(rangeproof.Verify(c, s, []byte("certificate 2026-000124"), proof) != nil)

	// The prover refuses a false statement.
	_, err = rangeproof.Prove(nil, c, birthYear, r, rangeproof.AtLeast(1990), certificate)
	fmt.Println(err)
	// Output:
	// 833 bytes
	// <nil>
	// true
	// true
	// rangeproof: the statement does not hold for the value
}
