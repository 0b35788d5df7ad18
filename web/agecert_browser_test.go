package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/govhub/govhub/certificate"
)

// certverify.js derives an age proof's threshold day as package certificate does, for every day of
// a leap year and the year after (29 February included) and for 1, 18 and 150 years, and refuses
// what Go refuses.
func TestAgeThresholdInBrowser(t *testing.T) {
	ctx := certPage(t)
	type tc struct {
		On    string `json:"on"`
		Years int64  `json:"years"`
	}
	var cases []tc
	for d := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2030; d = d.AddDate(0, 0, 1) {
		for _, y := range []int64{1, 18, 150} {
			cases = append(cases, tc{d.Format(time.DateOnly), y})
		}
	}
	cases = append(cases, tc{"2026-12-06", 0}, tc{"2026-12-06", 151}, tc{"2026-02-30", 18}, tc{"0010-01-01", 18}, tc{"2026-12-6", 18})
	var got []string // the threshold, or "error"
	eval(t, ctx, fmt.Sprintf(`(() => %s.map((c) => { try { return window.certjs.ageThresholdDate(c.on, c.years); } catch { return 'error'; } }))()`,
		mustJSON(t, cases)), &got)
	if len(got) != len(cases) {
		t.Fatalf("%d results for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		want, err := certificate.AgeThresholdDate(c.On, c.Years)
		if err != nil {
			want = "error"
		}
		if got[i] != want {
			t.Errorf("ageThresholdDate(%s, %d) = %s in the browser, %s in Go", c.On, c.Years, got[i], want)
		}
	}
}
