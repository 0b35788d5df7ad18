package commit_test

import (
	"errors"
	"fmt"

	"github.com/govhub/govhub/crypto/commit"
)

func ExampleDateDays() {
	n, _ := commit.DayNumber("1985-07-31")
	fmt.Println(n)

	// Under v2 a date commits as its day number, an integer: range proofs can speak about it.
	r, _ := commit.NewBlinding(nil)
	m, _ := commit.DateDays("1985-07-31")
	c := commit.Commit(m, r)
	fmt.Println(commit.Verify(c, commit.Int(n), r))

	// The same opening checked under the hashed mapping of v1 does not match.
	v1, _ := commit.DateFor(commit.Scheme, "1985-07-31")
	fmt.Println(errors.Is(commit.Verify(c, v1, r), commit.ErrMismatch))
	// Output:
	// 724853
	// <nil>
	// true
}
