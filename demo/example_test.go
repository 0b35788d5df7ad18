package demo_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/govhub/govhub/demo"
)

func ExampleGenerator_Citizen() {
	g := demo.NewGenerator(1)
	c := g.Citizen(1)
	fmt.Println(c.ID)
	id := c.Records["identity"][0]
	for _, k := range []string{"name", "gender", "birthDate", "hukouCity", "nationalId", "address"} {
		fmt.Printf("%s: %v\n", k, id[k])
	}
	m := c.Records["marriage"][0]
	fmt.Println("marriage:", m["maritalStatus"], m["spouseCitizenId"], m["registeredOn"])

	// The spouse agrees, whichever order citizens are generated in.
	s := g.Citizen(2).Records["marriage"][0]
	fmt.Println("spouse:", s["maritalStatus"], s["spouseCitizenId"], s["registeredOn"])

	var names []string
	for name := range c.Records {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Println("datasets:", strings.Join(names, " "))
	// Output:
	// C000001
	// name: 林荷磊
	// gender: FEMALE
	// birthDate: 1995-04-07
	// hukouCity: 福州市
	// nationalId: 35010019950407510X
	// address: 福建省福州市鼓楼区上海路725号11幢2801室
	// marriage: MARRIED C000002 2022-03-31
	// spouse: MARRIED C000001 2022-03-31
	// datasets: businessLicense health identity marriage property socialInsurance tax
}
