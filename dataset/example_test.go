package dataset_test

import (
	"errors"
	"fmt"

	"github.com/govhub/govhub/dataset"
)

func ExampleCheckNationalID() {
	for _, id := range []string{"11010519491231002X", "110105194912310021", "11010519491231002x"} {
		fmt.Println(id, dataset.CheckNationalID(id))
	}
	bd, _ := dataset.NationalIDBirthDate("11010519491231002X")
	fmt.Println(bd, dataset.NationalIDGender("11010519491231002X"))
	// Output:
	// 11010519491231002X <nil>
	// 110105194912310021 check character is 1, want X
	// 11010519491231002x check character must be upper-case X, not x
	// 1949-12-31 FEMALE
}

func ExampleCheckUSCC() {
	fmt.Println(dataset.CheckUSCC("91350100M000100Y43"))
	fmt.Println(dataset.CheckUSCC("91350100M000100Y44"))
	// Output:
	// <nil>
	// check character is 4, want 3
}

func ExampleLookup() {
	d, _ := dataset.Lookup("tax")
	fmt.Println(d.Name, d.Owner, d.AdminPurpose, d.List)
	for _, name := range []string{"year", "annualIncome", "taxPaid"} {
		f, _ := d.Field(name)
		fmt.Println(f.Path(), f.Kind, f.Sensitive)
	}
	// Output:
	// tax tax tax-administration false
	// tax.year Int false
	// tax.annualIncome Int true
	// tax.taxPaid Int true
}

func ExampleDataset_ValidateItem() {
	d, _ := dataset.Lookup("tax")
	err := d.ValidateItem(map[string]any{
		"year":         int64(2024),
		"annualIncome": int64(-5),
		"taxPaid":      3480, // an int, not an int64
	})
	fmt.Println(err)

	var ve *dataset.ValidationError
	if errors.As(err, &ve) {
		fmt.Printf("first: field %q, reason %q\n", ve.Field, ve.Reason)
	}
	// Output:
	// tax.annualIncome: must not be negative
	// tax.taxPaid: must be an int64, not int
	// first: field "tax.annualIncome", reason "must not be negative"
}
