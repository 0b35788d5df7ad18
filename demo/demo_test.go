package demo

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/govhub/govhub/dataset"
)

const testCitizens = 2000

var testSeeds = []int64{1, 20250630}

// TestCitizensValid checks every item and record of the first citizens of
// two seeds against the dataset rules, and that list datasets' records are
// lists.
func TestCitizensValid(t *testing.T) {
	datasets := make(map[string]*dataset.Dataset)
	for _, d := range dataset.All() {
		datasets[d.Name] = d
	}
	for _, seed := range testSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := NewGenerator(seed)
			for i := 1; i <= testCitizens; i++ {
				c := g.Citizen(i)
				if want := fmt.Sprintf("C%06d", i); c.ID != want {
					t.Fatalf("Citizen(%d).ID = %q, want %q", i, c.ID, want)
				}
				if err := dataset.CheckCitizenID(c.ID); err != nil {
					t.Fatalf("CheckCitizenID(%q) = %v", c.ID, err)
				}
				for name, items := range c.Records {
					d, ok := datasets[name]
					if !ok {
						t.Fatalf("Citizen(%d) has a record of unknown dataset %q", i, name)
					}
					for j, item := range items {
						if err := d.ValidateItem(item); err != nil {
							t.Errorf("Citizen(%d) %s item %d %v: ValidateItem = %v", i, name, j, item, err)
						}
					}
					if err := d.ValidateRecord(items); err != nil {
						t.Errorf("Citizen(%d) %s: ValidateRecord = %v", i, name, err)
					}
				}
			}
		})
	}
}

// TestCitizensConsistent checks what the dataset rules do not: that the
// national id's area code is the hukou city's, addresses lie in their city,
// every record carries its key fields, and the two spouses of a pair agree.
func TestCitizensConsistent(t *testing.T) {
	byName := make(map[string]*city)
	for k := range cities {
		byName[cities[k].name] = &cities[k]
	}
	for _, seed := range testSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := NewGenerator(seed)
			all := make([]Citizen, testCitizens+1)
			for i := 1; i <= testCitizens; i++ {
				all[i] = g.Citizen(i)
			}
			for i := 1; i <= testCitizens; i++ {
				c := all[i]
				id := c.Records["identity"][0]
				home, ok := byName[id["hukouCity"].(string)]
				if !ok {
					t.Fatalf("%s: hukouCity %q not in the city table", c.ID, id["hukouCity"])
				}
				for _, key := range []string{"name", "gender", "hukouCity", "nationalId", "birthDate", "address"} {
					if _, ok := id[key]; !ok {
						t.Errorf("%s: identity has no %s", c.ID, key)
					}
				}
				if nid := id["nationalId"].(string); nid[:6] != home.code {
					t.Errorf("%s: nationalId area %s, want hukou city %s's %s", c.ID, nid[:6], home.name, home.code)
				}
				if addr := id["address"].(string); !strings.HasPrefix(addr, home.province+home.name) {
					t.Errorf("%s: address %q not in %s%s", c.ID, addr, home.province, home.name)
				}
				if bd := id["birthDate"].(string); bd < "1940-01-01" || bd > "2007-12-31" {
					t.Errorf("%s: birthDate %s outside 1940–2007", c.ID, bd)
				}
				for _, p := range c.Records["property"] {
					pc := byName[p["city"].(string)]
					if pc == nil || !strings.HasPrefix(p["address"].(string), pc.province+pc.name) {
						t.Errorf("%s: property in %v at %v", c.ID, p["city"], p["address"])
					}
					if cert := p["certificateNo"].(string); !strings.Contains(cert, pc.name+"不动产权第") ||
						!strings.Contains(cert, "("+p["acquiredOn"].(string)[:4]+")") {
						t.Errorf("%s: certificateNo %q for %s acquired %s", c.ID, cert, pc.name, p["acquiredOn"])
					}
				}
				for _, l := range c.Records["businessLicense"] {
					if l["legalRepresentative"] != id["name"] {
						t.Errorf("%s: legalRepresentative %v, want %v", c.ID, l["legalRepresentative"], id["name"])
					}
				}
				for _, tx := range c.Records["tax"] {
					if tx["year"] != int64(TaxYear) {
						t.Errorf("%s: tax year %v", c.ID, tx["year"])
					}
				}

				m, ok := c.Records["marriage"]
				if !ok {
					continue
				}
				spouse, married := m[0]["spouseCitizenId"].(string)
				if married != (m[0]["maritalStatus"] == "MARRIED") {
					t.Errorf("%s: marriage %v", c.ID, m[0])
				}
				if !married {
					continue
				}
				partner := i + 1
				if i%2 == 0 {
					partner = i - 1
				}
				if want := CitizenID(partner); spouse != want {
					t.Errorf("%s: spouseCitizenId = %s, want %s", c.ID, spouse, want)
				}
				if partner > testCitizens {
					continue
				}
				pm := all[partner].Records["marriage"]
				if len(pm) != 1 || pm[0]["spouseCitizenId"] != c.ID || pm[0]["registeredOn"] != m[0]["registeredOn"] {
					t.Errorf("%s married %s on %v, but %s has %v", c.ID, spouse, m[0]["registeredOn"], spouse, pm)
				}
				pid := all[partner].Records["identity"][0]
				if pid["gender"] == id["gender"] {
					t.Errorf("%s and %s married with the same gender", c.ID, spouse)
				}
				for _, bd := range []any{id["birthDate"], pid["birthDate"]} {
					if y := atoiPrefix(bd.(string)); atoiPrefix(m[0]["registeredOn"].(string))-y < marriageAge {
						t.Errorf("%s married %s on %v, one born %v", c.ID, spouse, m[0]["registeredOn"], bd)
					}
				}
			}
		})
	}
}

func atoiPrefix(date string) int {
	n := 0
	for _, ch := range date[:4] {
		n = n*10 + int(ch-'0')
	}
	return n
}

// TestShares checks that the share of citizens with each dataset is near
// what the package documents. The data is deterministic, so this cannot be
// flaky; it fails when a change to the generator shifts a share.
func TestShares(t *testing.T) {
	want := map[string][2]float64{
		"identity":        {1, 1},
		"marriage":        {0.94, 0.99},
		"socialInsurance": {0.86, 0.94},
		"tax":             {0.70, 0.82},
		"property":        {0.35, 0.45},
		"businessLicense": {0.07, 0.13},
		"health":          {0.66, 0.74},
	}
	for _, seed := range testSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := NewGenerator(seed)
			counts := make(map[string]int)
			married, listItems := 0, make(map[string]int)
			genders := make(map[any]int)
			for i := 1; i <= testCitizens; i++ {
				c := g.Citizen(i)
				for name, items := range c.Records {
					counts[name]++
					listItems[name] += len(items)
				}
				if m, ok := c.Records["marriage"]; ok && m[0]["maritalStatus"] == "MARRIED" {
					married++
				}
				genders[c.Records["identity"][0]["gender"]]++
			}
			t.Logf("records %v, MARRIED %d, items %v of %d citizens", counts, married, listItems, testCitizens)
			for name, r := range want {
				share := float64(counts[name]) / testCitizens
				if share < r[0] || share > r[1] {
					t.Errorf("share with %s = %.3f, want %.2f–%.2f", name, share, r[0], r[1])
				}
			}
			if share := float64(married) / testCitizens; share < 0.5 || share > 0.75 {
				t.Errorf("share MARRIED = %.3f, want 0.50–0.75", share)
			}
			if genders["MALE"] != genders["FEMALE"] {
				t.Errorf("genders = %v, want as many of each (pairs are of opposite genders)", genders)
			}
			for _, name := range []string{"property", "businessLicense"} {
				if listItems[name] <= counts[name] {
					t.Errorf("%s: %d items for %d citizens, want some with more than one", name, listItems[name], counts[name])
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a, b := NewGenerator(42), NewGenerator(42)
	// b generates in another order, and other citizens in between.
	for i := 200; i >= 1; i-- {
		b.Citizen(i + 1000)
		if got, want := b.Citizen(i), a.Citizen(i); !reflect.DeepEqual(got, want) {
			t.Fatalf("Citizen(%d) differs between two generators of seed 42:\n%v\n%v", i, got, want)
		}
	}
	if got, want := a.Citizen(1_000_000), b.Citizen(1_000_000); !reflect.DeepEqual(got, want) || got.ID != "C1000000" {
		t.Errorf("Citizen(1000000) = %v and %v", got, want)
	}
}

func TestSeedsDiffer(t *testing.T) {
	a, b := NewGenerator(1), NewGenerator(2)
	same := 0
	for i := 1; i <= 100; i++ {
		ca, cb := a.Citizen(i), b.Citizen(i)
		if ca.ID != cb.ID {
			t.Fatalf("Citizen(%d) IDs %s and %s differ across seeds", i, ca.ID, cb.ID)
		}
		if reflect.DeepEqual(ca.Records, cb.Records) {
			same++
		}
		if ca.Records["identity"][0]["nationalId"] == cb.Records["identity"][0]["nationalId"] {
			t.Errorf("Citizen(%d) has national id %v under seeds 1 and 2", i, ca.Records["identity"][0]["nationalId"])
		}
	}
	if same > 0 {
		t.Errorf("%d of 100 citizens are the same under seeds 1 and 2", same)
	}
}

func TestCitizensDiffer(t *testing.T) {
	g := NewGenerator(7)
	ids := make(map[string]int)
	names := make(map[string]bool)
	for i := 1; i <= testCitizens; i++ {
		id := g.Citizen(i).Records["identity"][0]
		nid := id["nationalId"].(string)
		if j, dup := ids[nid]; dup {
			t.Errorf("citizens %d and %d share national id %s", j, i, nid)
		}
		ids[nid] = i
		names[id["name"].(string)] = true
	}
	if len(names) < testCitizens*9/10 {
		t.Errorf("%d distinct names among %d citizens, want at least 90%%", len(names), testCitizens)
	}
}

func TestCitizenPanicsBelowOne(t *testing.T) {
	for _, i := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Citizen(%d) did not panic", i)
				}
			}()
			NewGenerator(1).Citizen(i)
		}()
	}
}

func TestTables(t *testing.T) {
	if n := len(surnames); n < 100 {
		t.Errorf("%d surnames, want at least 100", n)
	}
	if n := len(givenChars); n < 300 {
		t.Errorf("%d given-name characters, want at least 300", n)
	}
	if n := len(cities); n < 30 {
		t.Errorf("%d cities, want at least 30", n)
	}
	seen := make(map[string]bool)
	for _, s := range surnames {
		if seen[s] {
			t.Errorf("surname %s twice", s)
		}
		seen[s] = true
	}
	seenRune := make(map[rune]bool)
	for _, r := range givenChars {
		if seenRune[r] {
			t.Errorf("given-name character %c twice", r)
		}
		seenRune[r] = true
	}
	codes := make(map[string]bool)
	for _, c := range cities {
		// A valid id with the city's code, to check the code's province.
		body := c.code + "19800101001"
		ch, err := dataset.NationalIDCheckChar(body)
		if err != nil || dataset.CheckNationalID(body+string(ch)) != nil || !strings.HasSuffix(c.code, "00") {
			t.Errorf("%s: area code %s unusable", c.name, c.code)
		}
		if codes[c.code] {
			t.Errorf("area code %s twice", c.code)
		}
		codes[c.code] = true
		if !strings.HasPrefix(c.name, c.short) || utf8.RuneCountInString(c.abbr) != 1 || len(c.districts) == 0 {
			t.Errorf("city %+v malformed", c)
		}
		if c.province == "" != (c.abbr == "京" || c.abbr == "津" || c.abbr == "沪" || c.abbr == "渝") {
			t.Errorf("%s: province %q", c.name, c.province)
		}
	}
	total := 0
	for _, bt := range bloodTypes {
		total += bt.weight
	}
	if total != 1000 {
		t.Errorf("blood type weights sum to %d, want 1000", total)
	}
}

func TestIncomeTax(t *testing.T) {
	// 2019 annual table on income less the 60,000 basic deduction.
	tests := []struct{ income, want int64 }{
		{0, 0},
		{-5000, 0},
		{60000, 0},
		{96000, 1080},     // 36,000 at 3%
		{96001, 1080},     // 36,001 at 10% less 2,520 (integer yuan)
		{204000, 11880},   // 144,000: 14,400 − 2,520
		{360000, 43080},   // 300,000: 60,000 − 16,920
		{1060000, 268080}, // 1,000,000: 450,000 − 181,920
	}
	for _, tt := range tests {
		if got := incomeTax(tt.income); got != tt.want {
			t.Errorf("incomeTax(%d) = %d, want %d", tt.income, got, tt.want)
		}
	}
}

func TestOrgCodeCheck(t *testing.T) {
	// The organisation codes inside published unified social credit codes.
	tests := []struct {
		org  string
		want byte
	}{
		{"70846113", '6'}, // Tencent 91440300708461136T
		{"19220382", '1'}, // Huawei 914403001922038216
		{"55138508", '2'}, // Xiaomi 91110108551385082Q
		{"MA2N0ABG", 'X'}, // 91341000MA2N0ABGXX
	}
	for _, tt := range tests {
		if got := orgCodeCheck([]byte(tt.org)); got != tt.want {
			t.Errorf("orgCodeCheck(%s) = %c, want %c", tt.org, got, tt.want)
		}
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		birth string
		want  int
	}{
		{"2003-06-30", 22},
		{"2003-07-01", 21},
		{"1940-01-01", 85},
		{"2007-12-31", 17},
	}
	for _, tt := range tests {
		b, err := time.Parse(time.DateOnly, tt.birth)
		if err != nil {
			t.Fatal(err)
		}
		if got := age(b); got != tt.want {
			t.Errorf("age(%s) = %d, want %d", tt.birth, got, tt.want)
		}
	}
}

func BenchmarkCitizen(b *testing.B) {
	g := NewGenerator(1)
	i := 0
	for b.Loop() {
		i++
		g.Citizen(i)
	}
}

func BenchmarkCitizenParallel(b *testing.B) {
	g := NewGenerator(1)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			g.Citizen(i)
		}
	})
}

var uniqueCitizens = flag.Int("unique-citizens", 200_000, "citizens TestNationalIDsUnique generates in full (seed 1)")

// TestNationalIDsUnique generates the first -unique-citizens citizens of seed 1 in full and checks
// that no two share a national id.
func TestNationalIDsUnique(t *testing.T) {
	n := *uniqueCitizens
	if testing.Short() && n > 10_000 {
		n = 10_000
	}
	g := NewGenerator(1)
	seen := make(map[string]int, n)
	for i := 1; i <= n; i++ {
		id := g.Citizen(i).Records["identity"][0]["nationalId"].(string)
		if j, dup := seen[id]; dup {
			t.Fatalf("citizens %d and %d share national id %s", j, i, id)
		}
		seen[id] = i
	}
}

// TestNationalIDConstruction checks the construction behind UniqueIDs for all of those citizens, of
// two seeds: no two share both birth date and sequence number, so their ids differ whatever their
// area codes.
func TestNationalIDConstruction(t *testing.T) {
	if UniqueIDs < 1_000_000 {
		t.Errorf("UniqueIDs = %d, want at least a million", UniqueIDs)
	}
	n := UniqueIDs
	if testing.Short() {
		n = 100_000
	}
	for _, seed := range testSeeds {
		g := NewGenerator(seed)
		days := windows * windowDays
		seen := make([]uint64, (1000*days+63)/64) // one bit per (seq, day since firstBirth)
		for i := 1; i <= n; i++ {
			p := g.person(i, g.pair((i+1)/2))
			day := int(p.birth.Sub(firstBirth).Hours() / 24)
			if day < 0 || day >= days || p.seq < 0 || p.seq > 999 || p.seq%2 == 1 != p.male {
				t.Fatalf("seed %d citizen %d: born %v, seq %d, male %v", seed, i, p.birth, p.seq, p.male)
			}
			bit := p.seq*days + day
			if seen[bit/64]&(1<<(bit%64)) != 0 {
				t.Fatalf("seed %d citizen %d: born %v with seq %03d, as an earlier citizen", seed, i, p.birth, p.seq)
			}
			seen[bit/64] |= 1 << (bit % 64)
		}
	}
}

// TestShowcase checks that the first Showcase citizens have a record in every dataset, and that
// they are married in pairs.
func TestShowcase(t *testing.T) {
	for _, seed := range append(testSeeds, 2, 3) {
		g := NewGenerator(seed)
		for i := 1; i <= Showcase; i++ {
			c := g.Citizen(i)
			for _, d := range dataset.All() {
				if len(c.Records[d.Name]) == 0 {
					t.Errorf("seed %d: %s has no %s record", seed, c.ID, d.Name)
				}
			}
			if m := c.Records["marriage"]; len(m) == 0 || m[0]["maritalStatus"] != "MARRIED" {
				t.Errorf("seed %d: %s marriage %v, want MARRIED", seed, c.ID, m)
			}
		}
	}
}

// TestREADMEShowsShowcaseCitizens checks that every citizen id the README's tour uses is a
// showcase citizen's, so that its examples answer with every dataset.
func TestREADMEShowsShowcaseCitizens(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`\bC(\d{6})\b`).FindAllStringSubmatch(string(readme), -1)
	if len(ids) == 0 {
		t.Fatal("no citizen id in the README")
	}
	for _, m := range ids {
		if i, _ := strconv.Atoi(m[1]); i < 1 || i > Showcase {
			t.Errorf("the README shows %s, not one of the first %d citizens (those with every dataset)", m[0], Showcase)
		}
	}
}
