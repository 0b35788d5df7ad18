package dataset

import "testing"

func BenchmarkCheckNationalID(b *testing.B) {
	for b.Loop() {
		if err := CheckNationalID("11010519491231002X"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckUSCC(b *testing.B) {
	for b.Loop() {
		if err := CheckUSCC("91350100M000100Y43"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		if _, ok := Lookup("identity"); !ok {
			b.Fatal("no identity")
		}
	}
}

func BenchmarkValidateItem(b *testing.B) {
	d, _ := Lookup("identity")
	item := map[string]any{
		"name": "张三", "gender": "FEMALE", "hukouCity": "北京市", "nationalId": "11010519491231002X",
		"birthDate": "1949-12-31", "address": "北京市朝阳区建国路88号1幢101室",
	}
	for b.Loop() {
		if err := d.ValidateItem(item); err != nil {
			b.Fatal(err)
		}
	}
}
