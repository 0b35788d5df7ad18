package credential

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestCanonicalizePipeline runs examples of RFC 8785 through what Sign and Verify do to a text
// (decodeStrict, then canonicalize: encoding/json, then the jcs library), so that canonical forms
// agree with other implementations (a browser's, for one).
func TestCanonicalizePipeline(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		// RFC 8785 section 3.2.3 (sorting of properties).
		{"sorting", `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\u000a": "Newline",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
}`, "{\"\\n\":\"Newline\",\"\\r\":\"Carriage Return\",\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u0080\":\"Control\u007f\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😂\":\"Smiley\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		// RFC 8785 section 3.2.4 (the example), with 333333333.33333329 written as the
		// double it is (the package refuses digits a double does not hold).
		{"values", `{
  "numbers": [333333333.3333333, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`, `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		{"structures", `{
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ {"e": "yes","E": "no" } ],
  "A": { }
}`, `{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}}`},
		{"arrays", `[56, {"d": true, "10": null, "1": [ ]}]`, `[56,{"1":[],"10":null,"d":true}]`},
		{"unnormalized unicode is kept", `{"Unnormalized Unicode":"A\u030a"}`, "{\"Unnormalized Unicode\":\"A\u030a\"}"},
		{"HTML characters", `{"a":"<&>\u2028"}`, "{\"a\":\"<&>\u2028\"}"},
	} {
		v, err := decodeStrict([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := canonicalize(v)
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s (%v)", c.name, got, c.want, err)
		}
	}
	if _, err := decodeStrict([]byte(`[333333333.33333329]`)); err == nil || !strings.Contains(err.Error(), "exactly") {
		t.Errorf("333333333.33333329: %v", err)
	}

	// RFC 8785 Appendix B: IEEE 754 values and their serialization (written here with the
	// shortest decimal that reads back as the value, as encoding/json would write it).
	for hexBits, want := range map[string]string{
		"0000000000000000": "0",
		"8000000000000000": "0",
		"0000000000000001": "5e-324",
		"8000000000000001": "-5e-324",
		"7fefffffffffffff": "1.7976931348623157e+308",
		"ffefffffffffffff": "-1.7976931348623157e+308",
		"4340000000000000": "9007199254740992",
		"c340000000000000": "-9007199254740992",
		"4430000000000000": "295147905179352830000",
		"44b52d02c7e14af5": "9.999999999999997e+22",
		"44b52d02c7e14af6": "1e+23",
		"44b52d02c7e14af7": "1.0000000000000001e+23",
		"444b1ae4d6e2ef4e": "999999999999999700000",
		"444b1ae4d6e2ef4f": "999999999999999900000",
		"444b1ae4d6e2ef50": "1e+21",
		"3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
		"3eb0c6f7a0b5ed8d": "0.000001",
		"41b3de4355555553": "333333333.3333332",
		"41b3de4355555554": "333333333.33333325",
		"41b3de4355555555": "333333333.3333333",
		"41b3de4355555556": "333333333.3333334",
		"41b3de4355555557": "333333333.33333343",
		"becbf647612f3696": "-0.0000033333333333333333",
		"43143ff3c1cb0959": "1424953923781206.2",
	} {
		bits, _ := strconv.ParseUint(hexBits, 16, 64)
		lit := strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
		v, err := decodeStrict([]byte("[" + lit + "]"))
		if err != nil {
			t.Errorf("%s (%s): %v", hexBits, lit, err)
			continue
		}
		got, err := canonicalize(v)
		if err != nil || string(got) != "["+want+"]" {
			t.Errorf("%s: got %s, want [%s] (%v)", hexBits, got, want, err)
		}
	}
}
