// Package demo generates synthetic citizens for demonstrations, tests and
// scale runs: deterministic, plausible, and valid by the rules of package
// dataset.
//
// Citizen i of a generator with seed s is a function of (s, i) alone, so
// citizens can be generated in any order, in parallel, or streamed at a
// million without keeping any state. Every item of every record passes
// [dataset.Dataset.ValidateItem] and every record [dataset.Dataset.ValidateRecord],
// and the values follow the Go conventions of package dataset (int64, float64,
// "YYYY-MM-DD" strings, []string).
//
// What a citizen looks like, as of [AsOf]:
//
//   - identity, always: a Chinese name (one of 133 surnames, one or two of
//     333 given-name characters), gender, a hukou city from 42 real
//     prefecture-level cities, a birth date from 1940 to 2007, a national id
//     whose area code is the hukou city's GB/T 2260 code and which agrees
//     with the birth date and gender, and an address in the hukou city
//     ("浙江省杭州市西湖区文三路138号5幢302室").
//   - marriage, for about 97%: citizens 2k−1 and 2k form a pair of opposite
//     genders born within the same four years; about 70% of pairs in which
//     both are at least 22 are MARRIED to each other, on the same
//     registeredOn, and each names the other in spouseCitizenId. Others are
//     SINGLE, DIVORCED or WIDOWED by age, without a spouse. The spouse of the
//     last citizen of an odd count may lie beyond the generated range.
//   - socialInsurance (about 90%) and tax for 2024 (about 75%), with incomes,
//     contribution bases and individual income tax that agree with each
//     other; taxPaid ≤ annualIncome.
//   - property, for about 40%: 1 to 3 items with certificate numbers like
//     "浙(2019)杭州市不动产权第0012345号".
//   - businessLicense, for about 10%: 1 or 2 items with valid unified social
//     credit codes registered in the citizen's city.
//   - health, for about 70%: blood type, chronic conditions (often "") and
//     vaccinations.
//
// The first [Showcase] citizens (C000001 … C000010), the ones examples and
// tests show off, are of working age, married to each other in pairs, and
// have a record in every dataset; the shares above are those of the others.
//
// National ids are unique among the first [UniqueIDs] citizens of a
// generator, by construction: the pair k of a citizen picks their id's
// sequence number and, with it, the day of their birth within the four years
// their pair was born in (see [Generator.Citizen]).
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/govhub/govhub/dataset"
)

// AsOf is the date the synthetic data describes: no date in it is later, and
// ages are counted at it.
const AsOf = "2025-06-30"

// TaxYear is the year of every generated tax record.
const TaxYear = 2024

// asOf is AsOf as a time.
var asOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// Citizen is one synthetic citizen: their id and, for each dataset they have
// a record in, its items. Datasets without a record are absent from Records.
type Citizen struct {
	ID      string
	Records map[string][]map[string]any // dataset name → items
}

// Generator makes synthetic citizens from a seed. It holds no mutable state
// and is safe for concurrent use.
type Generator struct {
	seed int64
}

// NewGenerator returns a generator for seed.
func NewGenerator(seed int64) *Generator {
	return &Generator{seed: seed}
}

// Showcase is how many citizens, from C000001, have a record in every
// dataset.
const Showcase = 10

// UniqueIDs is how many citizens, from C000001, hold national ids that no
// other of them holds: 500 sequence numbers per gender times the 1,461 days
// of a four-year birth window, for each of the two citizens of a pair.
const UniqueIDs = 2 * seqsPerGender * windowDays

// CitizenID returns the id of the i-th citizen, "C000001" for 1.
func CitizenID(i int) string {
	return fmt.Sprintf("C%06d", i)
}

// The independent random streams of a generator.
const (
	streamPair    uint64 = 1 // per pair k: what both its citizens must agree on
	streamCitizen uint64 = 3 // per citizen: everything else
	streamSeq     uint64 = 4 // the shuffle of sequence numbers in a block of pairs
	streamDay     uint64 = 5 // the day of birth of a sequence number in the first block
)

// rand returns the random stream of kind stream for index n: a PCG whose two
// seeds mix the generator's seed with the stream, and n with the stream.
func (g *Generator) rand(stream uint64, n int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(uint64(g.seed)^mix(stream)), mix(uint64(n)^stream<<56)))
}

// mix is the SplitMix64 finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// pair is what citizens 2k−1 and 2k share.
type pair struct {
	window    int     // both were born in the four years from 1940+4·window
	firstMale bool    // 2k−1 is male and 2k female, or the other way round
	marry     float64 // below marriedShare: married if both are old enough
	when      float64 // where in the possible span the marriage was registered
	city      int     // usual hukou city of both
}

// marriedShare is the share of pairs that marry when both are old enough.
const marriedShare = 0.70

// marriageAge is the age both spouses have reached when they register.
const marriageAge = 22

// Birth windows: 17 spans of four years, 1940–1943 … 2004–2007, of 1,461
// days each (each holds one 29 February).
const (
	windows    = 17
	windowDays = 4*365 + 1
)

// firstBirth is the first day of the first birth window.
var firstBirth = time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)

// showcaseWindows are the windows of the showcase pairs: born 1972–1995,
// of working age and old enough to marry.
const showcaseFirstWindow, showcaseWindows = 8, 6

func (g *Generator) pair(k int) pair {
	r := g.rand(streamPair, k)
	p := pair{
		window:    r.IntN(windows),
		firstMale: r.IntN(2) == 0,
		marry:     r.Float64(),
		when:      r.Float64(),
		city:      r.IntN(len(cities)),
	}
	if 2*k-1 <= Showcase {
		p.window = showcaseFirstWindow + p.window%showcaseWindows
		p.marry *= marriedShare
	}
	return p
}

// person is what a citizen's partner must know of them.
type person struct {
	male  bool
	birth time.Time
	seq   int // the sequence number of their national id, 0–999, odd for men
}

// seqsPerGender is how many national id sequence numbers there are for each
// gender on one birth date in one area.
const seqsPerGender = 500

// seqStep is coprime to seqsPerGender, so that r ↦ r·seqStep + b shuffles the
// sequence numbers of a block.
const seqStep = 293

// person returns citizen i of pair p (the pair k = (i+1)/2). The pairs come in
// blocks of seqsPerGender; pair k is the r-th of block u. Within a block, r
// picks a distinct sequence number s (shuffled by the block); the citizen's
// seq is 2s+1 for a man and 2s for a woman. Their birth date is day
// (u + h(seq)) mod windowDays of their pair's window, h a hash of seq and the
// seed. Two citizens of the same seq and birth date so share window and u,
// hence k, hence i, as long as u < windowDays: the national ids of the first
// [UniqueIDs] citizens differ whatever their hukou cities.
func (g *Generator) person(i int, p pair) person {
	k := (i + 1) / 2
	u, r := (k-1)/seqsPerGender, (k-1)%seqsPerGender
	s := (r*seqStep + int(g.hash(streamSeq, uint64(u))%seqsPerGender)) % seqsPerGender
	male := p.firstMale == (i%2 == 1)
	seq := 2 * s
	if male {
		seq++
	}
	day := (u + int(g.hash(streamDay, uint64(seq))%windowDays)) % windowDays
	return person{
		male:  male,
		birth: firstBirth.AddDate(0, 0, p.window*windowDays+day),
		seq:   seq,
	}
}

// hash returns a hash of n in stream under the generator's seed.
func (g *Generator) hash(stream, n uint64) uint64 {
	return mix(mix(uint64(g.seed)^mix(stream)) ^ n)
}

// age returns the age in whole years at AsOf of someone born on birth.
func age(birth time.Time) int {
	a := asOf.Year() - birth.Year()
	if asOf.Month() < birth.Month() || asOf.Month() == birth.Month() && asOf.Day() < birth.Day() {
		a--
	}
	return a
}

// marriage returns whether the pair p of a and b is married, and on which
// date. It is symmetric in a and b.
func marriage(p pair, a, b person) (time.Time, bool) {
	if p.marry >= marriedShare {
		return time.Time{}, false
	}
	younger := a.birth
	if b.birth.After(younger) {
		younger = b.birth
	}
	earliest := younger.AddDate(marriageAge, 0, 0)
	if earliest.After(asOf) {
		return time.Time{}, false
	}
	span := min(int(asOf.Sub(earliest).Hours()/24), 25*365)
	return earliest.AddDate(0, 0, int(p.when*float64(span))), true
}

// Citizen returns the i-th citizen, i ≥ 1, whose ID is [CitizenID](i). It
// depends on the generator's seed and i alone. It panics if i < 1.
func (g *Generator) Citizen(i int) Citizen {
	if i < 1 {
		panic(fmt.Sprintf("demo: Citizen(%d): index must be at least 1", i))
	}
	partner := i + 1
	if i%2 == 0 {
		partner = i - 1
	}
	p := g.pair((i + 1) / 2)
	b := builder{
		r:        g.rand(streamCitizen, i),
		self:     g.person(i, p),
		showcase: i <= Showcase,
	}
	b.age = age(b.self.birth)
	b.home = &cities[p.city]
	if b.r.IntN(4) == 0 {
		b.home = &cities[b.r.IntN(len(cities))]
	}

	rec := make(map[string][]map[string]any, 7)
	rec["identity"] = []map[string]any{b.identity()}
	married, ok := marriage(p, b.self, g.person(partner, p))
	if ok {
		rec["marriage"] = []map[string]any{{
			"maritalStatus":   "MARRIED",
			"spouseCitizenId": CitizenID(partner),
			"registeredOn":    date(married),
		}}
	} else if m := b.unmarried(); m != nil {
		rec["marriage"] = []map[string]any{m}
	}
	b.work(rec)
	// A showcase citizen draws as the others do, and then has every record.
	if b.age >= 22 && (b.r.Float64() < 0.42 || b.showcase) {
		rec["property"] = b.properties()
	}
	if b.age >= 22 && b.age <= 75 && (b.r.Float64() < 0.105 || b.showcase) {
		rec["businessLicense"] = b.licenses()
	}
	if b.r.Float64() < 0.70 || b.showcase {
		rec["health"] = []map[string]any{b.health()}
	}
	return Citizen{ID: CitizenID(i), Records: rec}
}

// builder draws one citizen's records from their stream.
type builder struct {
	r        *rand.Rand
	self     person
	showcase bool // has every record
	age      int
	home     *city
	name     string
}

func (b *builder) identity() map[string]any {
	b.name = b.personName()
	gender := "FEMALE"
	if b.self.male {
		gender = "MALE"
	}
	return map[string]any{
		"name":       b.name,
		"gender":     gender,
		"hukouCity":  b.home.name,
		"nationalId": b.nationalID(),
		"birthDate":  date(b.self.birth),
		"address":    b.address(b.home),
	}
}

func (b *builder) personName() string {
	var sb strings.Builder
	if b.r.IntN(2) == 0 {
		sb.WriteString(surnames[b.r.IntN(commonSurnames)])
	} else {
		sb.WriteString(surnames[b.r.IntN(len(surnames))])
	}
	n := 2
	if b.r.IntN(4) == 0 {
		n = 1
	}
	for range n {
		sb.WriteRune(givenChars[b.r.IntN(len(givenChars))])
	}
	return sb.String()
}

// nationalID returns a GB 11643 number: the hukou city's area code, the
// birth date, the sequence number (odd for men, even for women), and the
// check character.
func (b *builder) nationalID() string {
	body := fmt.Sprintf("%s%s%03d", b.home.code, b.self.birth.Format("20060102"), b.self.seq)
	c, err := dataset.NationalIDCheckChar(body)
	if err != nil {
		panic("demo: bad national id body: " + err.Error()) // the tables are wrong
	}
	return body + string(c)
}

// address returns a street address in c: 浙江省杭州市西湖区文三路138号5幢302室.
func (b *builder) address(c *city) string {
	return fmt.Sprintf("%s%s%s%s%d号%d幢%d%02d室",
		c.province, c.name, c.districts[b.r.IntN(len(c.districts))], streets[b.r.IntN(len(streets))],
		1+b.r.IntN(999), 1+b.r.IntN(30), 1+b.r.IntN(32), 1+b.r.IntN(4))
}

// unmarried returns the marriage record of someone not married to their
// partner, or nil for the few without one.
func (b *builder) unmarried() map[string]any {
	if b.r.Float64() < 0.08 {
		return nil
	}
	w := statusWeights[len(statusWeights)-1]
	for _, sw := range statusWeights {
		if b.age <= sw.maxAge {
			w = sw
			break
		}
	}
	status := "SINGLE"
	switch x := b.r.IntN(w.single + w.divorced + w.widowed); {
	case b.age < marriageAge || x < w.single:
	case x < w.single+w.divorced:
		status = "DIVORCED"
	default:
		status = "WIDOWED"
	}
	item := map[string]any{"maritalStatus": status}
	if status != "SINGLE" {
		item["registeredOn"] = date(b.between(b.self.birth.AddDate(marriageAge, 0, 0), asOf))
	}
	return item
}

// between returns a day from from to to, both included.
func (b *builder) between(from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	if days <= 0 {
		return from
	}
	return from.AddDate(0, 0, b.r.IntN(days+1))
}

// retirementAge is when the generated citizens stop working.
const retirementAge = 60

// work adds the socialInsurance and tax records: an annual income drawn
// log-normally for those working and a pension for the retired, a
// contribution base following the income, and the 2024 individual income tax
// on it.
func (b *builder) work(rec map[string][]map[string]any) {
	retired := b.age >= retirementAge
	var income, pension int64
	if retired {
		pension = roundTo(24000+b.r.Float64()*66000, 100)
		if b.r.IntN(3) == 0 {
			income = roundTo(b.r.Float64()*120000, 100) // rent, consulting…
		}
	} else {
		income = roundTo(math.Min(math.Max(72000*math.Exp(0.75*b.r.NormFloat64()), 24000), 5_000_000), 100)
	}
	base := min(max(roundTo(float64(income)/12, 100), 4000), 36000)
	yearsWorked := max(0, min(b.age, retirementAge)-22)

	if b.r.Float64() < 0.90 || b.showcase {
		item := map[string]any{}
		switch {
		case retired:
			item["insured"] = b.r.Float64() < 0.95
			item["contributionMonths"] = int64(180 + b.r.IntN(300))
			item["monthlyBase"] = int64(3000 + 100*b.r.IntN(120))
		case b.r.Float64() < 0.88 || b.showcase:
			item["insured"] = true
			item["employer"] = b.employer()
			item["contributionMonths"] = int64(min(1200, int(float64(yearsWorked*12+b.r.IntN(12))*(0.6+0.4*b.r.Float64()))))
			item["monthlyBase"] = base
		default:
			item["insured"] = false
			item["contributionMonths"] = int64(b.r.IntN(yearsWorked*6 + 1))
			item["monthlyBase"] = int64(0)
		}
		rec["socialInsurance"] = []map[string]any{item}
	}

	share := 0.92
	if retired {
		share = 0.50
	}
	if b.age >= 18 && (b.r.Float64() < share || b.showcase) {
		var social int64
		if !retired {
			social = base * 12 * 105 / 1000 // pension 8%, medical 2%, unemployment 0.5%
		}
		special := int64(12000 * b.r.IntN(4)) // children, housing, elderly care…
		rec["tax"] = []map[string]any{{
			"year":         int64(TaxYear),
			"annualIncome": income + pension,
			"taxPaid":      incomeTax(income - social - special), // pensions are exempt
		}}
	}
}

// incomeTax returns the annual individual income tax on comprehensive income
// x (before the 60,000 yuan basic deduction), with the 2019 rates.
func incomeTax(x int64) int64 {
	taxable := x - 60000
	if taxable <= 0 {
		return 0
	}
	brackets := []struct{ upTo, rate, quick int64 }{
		{36000, 3, 0},
		{144000, 10, 2520},
		{300000, 20, 16920},
		{420000, 25, 31920},
		{660000, 30, 52920},
		{960000, 35, 85920},
		{math.MaxInt64, 45, 181920},
	}
	for _, br := range brackets {
		if taxable <= br.upTo {
			return taxable*br.rate/100 - br.quick
		}
	}
	panic("unreachable")
}

func roundTo(x float64, unit int64) int64 {
	return int64(math.Round(x/float64(unit))) * unit
}

func (b *builder) employer() string {
	c := b.home
	if b.r.IntN(5) == 0 {
		c = &cities[b.r.IntN(len(cities))]
	}
	if b.r.IntN(6) == 0 {
		return fmt.Sprintf(publicEmployers[b.r.IntN(len(publicEmployers))], c.name)
	}
	return b.company(c)
}

// company returns a company name in c: 杭州恒达科技有限公司.
func (b *builder) company(c *city) string {
	return c.short + tradeNames[b.r.IntN(len(tradeNames))] +
		businessLines[b.r.IntN(len(businessLines))] + companyForms[b.r.IntN(len(companyForms))]
}

func (b *builder) properties() []map[string]any {
	n := 1
	if x := b.r.IntN(10); x >= 9 {
		n = 3
	} else if x >= 6 {
		n = 2
	}
	earliest := b.self.birth.AddDate(22, 0, 0)
	if floor := time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC); earliest.Before(floor) {
		earliest = floor // housing reform: private titles from 1998
	}
	items := make([]map[string]any, n)
	for j := range items {
		c := b.home
		if b.r.IntN(4) == 0 {
			c = &cities[b.r.IntN(len(cities))]
		}
		acquired := b.between(earliest, asOf)
		area := 30 + 150*b.r.Float64()
		if b.r.IntN(10) == 0 {
			area += 250 * b.r.Float64()
		}
		items[j] = map[string]any{
			// The last digit of the number is the item's index, so that the
			// numbers of one citizen differ.
			"certificateNo": fmt.Sprintf("%s(%d)%s不动产权第%07d号", c.abbr, acquired.Year(), c.name, 10*b.r.IntN(1_000_000)+j),
			"city":          c.name,
			"area":          math.Round(area*100) / 100,
			"address":       b.address(c),
			"acquiredOn":    date(acquired),
		}
	}
	return items
}

func (b *builder) licenses() []map[string]any {
	n := 1
	if b.r.IntN(4) == 0 {
		n = 2
	}
	items := make([]map[string]any, n)
	for j := range items {
		c := b.home
		if b.r.IntN(5) == 0 {
			c = &cities[b.r.IntN(len(cities))]
		}
		individual := b.r.IntN(5) == 0 // 个体工商户, type 2
		var capital int64
		if individual {
			capital = roundTo(10000+b.r.Float64()*490000, 1000)
		} else {
			capital = roundTo(100000*math.Pow(500, b.r.Float64()), 10000)
		}
		status := "ACTIVE"
		switch x := b.r.IntN(100); {
		case x >= 90:
			status = "CANCELLED"
		case x >= 85:
			status = "REVOKED"
		case x >= 80:
			status = "SUSPENDED"
		}
		items[j] = map[string]any{
			"uscc":                b.uscc(c, individual, j),
			"companyName":         b.company(c),
			"legalRepresentative": b.name,
			"registeredCapital":   capital,
			"status":              status,
		}
	}
	return items
}

// uscc returns a GB 32100 code registered by market regulation (9) in c, for
// an enterprise (1) or an individual business (2), with a GB 11714
// organisation code: eight characters, either digits or "MA" and six
// characters (the post-2015 form), and their check character. The last of
// the eight characters is j, so that one citizen's codes differ.
func (b *builder) uscc(c *city, individual bool, j int) string {
	var sb strings.Builder
	sb.WriteByte('9')
	if individual {
		sb.WriteByte('2')
	} else {
		sb.WriteByte('1')
	}
	sb.WriteString(c.code)
	org := make([]byte, 8)
	const digits, alphabet = "0123456789", "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if b.r.IntN(2) == 0 {
		org[0], org[1] = 'M', 'A'
		for k := 2; k < 7; k++ {
			org[k] = alphabet[b.r.IntN(len(alphabet))]
		}
	} else {
		org[0] = digits[1+b.r.IntN(9)]
		for k := 1; k < 7; k++ {
			org[k] = digits[b.r.IntN(10)]
		}
	}
	org[7] = byte('0' + j)
	sb.Write(org)
	sb.WriteByte(orgCodeCheck(org))
	c18, err := dataset.USCCCheckChar(sb.String())
	if err != nil {
		panic("demo: bad USCC body: " + err.Error()) // the alphabet above is wrong
	}
	sb.WriteByte(c18)
	return sb.String()
}

// orgCodeCheck returns the GB 11714 check character of an 8-character
// organisation code: digits worth themselves and letters A-Z worth 10-35,
// weighted 3 7 9 10 5 8 4 2; the check is 11 − (sum mod 11), written X for
// 10 and 0 for 11. For Tencent's 70846113 it is 6.
func orgCodeCheck(org []byte) byte {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, ch := range org {
		v := int(ch - '0')
		if ch >= 'A' {
			v = int(ch-'A') + 10
		}
		sum += v * weights[k]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

func (b *builder) health() map[string]any {
	blood := bloodTypes[len(bloodTypes)-1].name
	x := b.r.IntN(1000)
	for _, bt := range bloodTypes {
		if x < bt.weight {
			blood = bt.name
			break
		}
		x -= bt.weight
	}

	chronic := ""
	if b.r.Float64() < 0.02+0.006*float64(b.age) {
		first := b.r.IntN(len(conditions))
		chronic = conditions[first]
		if b.r.IntN(3) == 0 {
			second := (first + 1 + b.r.IntN(len(conditions)-1)) % len(conditions)
			chronic += "、" + conditions[second]
		}
	}

	vacc := make([]string, 0, 12)
	if b.self.birth.Year() >= 1978 {
		for _, v := range childhoodVaccines {
			if b.r.Float64() < 0.9 {
				vacc = append(vacc, v)
			}
		}
	}
	if b.r.Float64() < 0.9 {
		vacc = append(vacc, "新冠疫苗")
	}
	if flu := 0.25 + 0.35*float64(min(b.age, 80))/80; b.r.Float64() < flu {
		vacc = append(vacc, "流感疫苗")
	}
	if !b.self.male && b.age <= 45 && b.r.Float64() < 0.3 {
		vacc = append(vacc, "HPV疫苗")
	}
	if b.age >= 60 && b.r.Float64() < 0.25 {
		vacc = append(vacc, "肺炎球菌疫苗")
	}
	if b.r.Float64() < 0.05 {
		vacc = append(vacc, "狂犬病疫苗")
	}
	return map[string]any{
		"bloodType":         blood,
		"chronicConditions": chronic,
		"vaccinations":      vacc,
	}
}

// date formats t as a dataset Date.
func date(t time.Time) string {
	return t.Format(time.DateOnly)
}
