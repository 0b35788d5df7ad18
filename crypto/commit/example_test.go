package commit_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/govhub/govhub/crypto/commit"
)

func Example() {
	// In production the blinding comes from commit.NewBlinding(nil) and is
	// sealed next to the value; a fixed one keeps the output stable.
	b, _ := hex.DecodeString("33560c29a913e0ae0e6c86896232afb78dbcdb33607d0e16e63db230e7a54e58")
	r, err := commit.ParseBlinding(b)
	if err != nil {
		panic(err)
	}

	c := commit.Commit(commit.Int(42), r)
	fmt.Println(commit.Scheme)
	fmt.Println(c)

	// Whoever holds the value and the blinding can check the commitment.
	fmt.Println(commit.Verify(c, commit.Int(42), r))
	err = commit.Verify(c, commit.Int(43), r)
	fmt.Println(errors.Is(err, commit.ErrMismatch))
	// Output:
	// pedersen-bls12381-g1/v1
	// b3246b126eb34c23bf845ad5b3ade1ad694387bbb91cbb2412e79c8353483d9a25d81939e362ed05e293c486ac0f2f25
	// <nil>
	// true
}

func ExampleDate() {
	b, _ := hex.DecodeString("32ecb680bac4a1e58512c489b39f8c4ebbeef570c79f7d1dce2fb3f7eaf2ad20")
	r, _ := commit.ParseBlinding(b)

	date, _ := commit.Date("2020-01-02")
	text, _ := commit.String("2020-01-02")
	fmt.Println(commit.Commit(date, r))
	// The same text committed as a string is a different commitment.
	fmt.Println(commit.Verify(commit.Commit(date, r), text, r))

	_, err := commit.Date("2023-02-29")
	fmt.Println(err)
	// Output:
	// b4dafc37e6a7a70a5c5f01f1aefb3574cad5655354725a4982a6881740b555d7e4d349729a5b94b173919aaf947d95ed
	// commit: commitment does not match the opening
	// mapping date: no such date: commit: invalid input
}

func ExampleParseCommitment() {
	c, err := commit.ParseCommitment("B3246B126EB34C23BF845AD5B3ADE1AD694387BBB91CBB2412E79C8353483D9A25D81939E362ED05E293C486AC0F2F25")
	fmt.Println(c, err)

	_, err = commit.ParseCommitment("c0" + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")
	fmt.Println(err)
	// Output:
	// b3246b126eb34c23bf845ad5b3ade1ad694387bbb91cbb2412e79c8353483d9a25d81939e362ed05e293c486ac0f2f25 <nil>
	// parsing commitment: point at infinity: commit: invalid input
}
