package seal_test

import (
	"errors"
	"fmt"

	"github.com/govhub/govhub/crypto/seal"
)

func Example() {
	// The master key comes from the hub's key file; 32 fixed bytes here.
	master, err := seal.NewMasterKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}

	// Each citizen gets a data key, stored only wrapped.
	dk, err := seal.NewDataKey(nil)
	if err != nil {
		panic(err)
	}
	wrapped, err := master.Wrap("C000001", dk)
	if err != nil {
		panic(err)
	}
	fmt.Println("wrapped key:", len(wrapped), "bytes")

	ad := seal.AD{Citizen: "C000001", Dataset: "tax", Field: "annualIncome", Version: 7}
	sealed, err := dk.Seal(ad, []byte("350000"))
	if err != nil {
		panic(err)
	}
	fmt.Println("sealed value:", len(sealed), "bytes")

	// Later: unwrap the citizen's key and open the value in its place.
	dk2, err := master.Unwrap("C000001", wrapped)
	if err != nil {
		panic(err)
	}
	plaintext, err := dk2.Open(ad, sealed)
	fmt.Printf("%s %v\n", plaintext, err)

	// The same bytes copied to another field do not open.
	ad.Field = "taxPaid"
	_, err = dk2.Open(ad, sealed)
	fmt.Println(errors.Is(err, seal.ErrOpen))

	// Keys never print.
	fmt.Println(dk2)
	// Output:
	// wrapped key: 61 bytes
	// sealed value: 35 bytes
	// 350000 <nil>
	// true
	// seal.DataKey(REDACTED)
}
