package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
)

// Per-principal rate limits on /graphql. Each principal — kind, issuer and subject in canonical
// form (auth.Principal.Same), so one person is one bucket whatever the case of their name, and the
// same name from two issuers is two — has a token bucket: Rate requests a second, bursts of Burst.
// A department's principals (its officials and officers) get the department's limit when one is
// set, every other principal the default. A request over the limit is refused before it runs: HTTP
// 429, a Retry-After of whole seconds (at least 1), and a GraphQL error with the code
// RATE_LIMITED. A websocket connection counts one request when it starts (its subscriptions are
// not counted).
//
// Denied attempts are logged (ARCHITECTURE §1): the first refusal of a principal since it was last
// admitted is a denied entry on the ledger (reason rate-limited, with the request's digest); the
// refusals that follow it until the principal is admitted again are not, since an entry for every
// refused request would turn a flood into ledger appends, the load the limit is there to shed.
// The operator log says the same moment (the token id, never the subject).

// defaultServeRateLimit is serve's limit for every principal unless configured: 50 requests a
// second, in bursts of up to 100. The demo has none unless asked for.
var defaultServeRateLimit = rateLimit{Rate: 50, Burst: 100}

// registerRateLimits registers --rate-limit and the repeatable --rate-limit-department on fs; the
// limits are read into the result as fs parses. The default is defaultServeRateLimit for serve
// and no limit for the demo.
func registerRateLimits(fs *flag.FlagSet, isDemo bool) *rateLimits {
	ls := &rateLimits{Default: defaultServeRateLimit}
	if isDemo {
		ls.Default = rateLimit{}
	}
	fs.Var(&ls.Default, "rate-limit", "requests a second per principal on /graphql, as RATE[/BURST] (0: no limit; burst left out: the rate); over it, HTTP 429 with Retry-After")
	fs.Var((*departmentRateLimits)(&ls.Departments), "rate-limit-department", "a department's own limit for each of its officials and officers, as DEPARTMENT=RATE[/BURST] (0: no limit) (repeat)")
	return ls
}

// rateLimit is a token bucket's rate (requests a second) and burst; a zero Rate is no limit.
type rateLimit struct {
	Rate  float64
	Burst int
}

// String formats l as parseRateLimit reads it: "0" (no limit) or RATE/BURST.
func (l rateLimit) String() string {
	if l.Rate == 0 {
		return "0"
	}
	return strconv.FormatFloat(l.Rate, 'f', -1, 64) + "/" + strconv.Itoa(l.Burst)
}

// Set implements flag.Value.
func (l *rateLimit) Set(s string) error {
	v, err := parseRateLimit(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// parseRateLimit reads RATE[/BURST]: requests a second (0 for no limit, or a decimal number from
// 0.001 to 1e6) and the largest burst (a whole number from 1 to 1e6; left out, the rate rounded
// up). "50/100", "0.5/5", "20", "0".
func parseRateLimit(s string) (rateLimit, error) {
	r, b, hasBurst := strings.Cut(strings.TrimSpace(s), "/")
	rt, err := strconv.ParseFloat(r, 64)
	if err != nil || math.IsNaN(rt) || rt != 0 && (rt < 0.001 || rt > 1e6) {
		return rateLimit{}, fmt.Errorf("rate limit %q: want RATE[/BURST], RATE 0 (no limit) or a number of requests a second from 0.001 to 1e6", s)
	}
	if rt == 0 {
		if hasBurst {
			return rateLimit{}, fmt.Errorf("rate limit %q: a rate of 0 is no limit and takes no burst", s)
		}
		return rateLimit{}, nil
	}
	burst := int(math.Ceil(rt))
	if hasBurst {
		if burst, err = strconv.Atoi(b); err != nil || burst < 1 || burst > 1e6 {
			return rateLimit{}, fmt.Errorf("rate limit %q: the burst must be a whole number from 1 to 1e6", s)
		}
	}
	return rateLimit{Rate: rt, Burst: burst}, nil
}

// departmentRateLimits is the repeatable --rate-limit-department D=RATE[/BURST].
type departmentRateLimits map[string]rateLimit

var departmentCode = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Set implements flag.Value.
func (m *departmentRateLimits) Set(s string) error {
	d, l, ok := strings.Cut(s, "=")
	if !ok || !departmentCode.MatchString(d) {
		return fmt.Errorf("%q: want DEPARTMENT=RATE[/BURST], DEPARTMENT a department code", s)
	}
	v, err := parseRateLimit(l)
	if err != nil {
		return err
	}
	if *m == nil {
		*m = departmentRateLimits{}
	}
	(*m)[d] = v
	return nil
}

// String implements flag.Value.
func (m *departmentRateLimits) String() string {
	if m == nil {
		return ""
	}
	var parts []string
	for d, l := range *m {
		parts = append(parts, d+"="+l.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// rateLimits are the limits of every principal: Departments by department code (department and
// officer principals), Default for everyone else.
type rateLimits struct {
	Default     rateLimit
	Departments map[string]rateLimit
}

// of returns the limit of p.
func (ls rateLimits) of(p auth.Principal) rateLimit {
	if l, ok := ls.Departments[p.Department]; ok && p.Department != "" {
		return l
	}
	return ls.Default
}

// any reports whether some principal has a limit.
func (ls rateLimits) any() bool {
	if ls.Default.Rate > 0 {
		return true
	}
	for _, l := range ls.Departments {
		if l.Rate > 0 {
			return true
		}
	}
	return false
}

// sweepInterval is how often idle buckets are dropped.
const sweepInterval = time.Minute

// limiter holds a token bucket per principal. A bucket idle long enough to have filled up again is
// no different from a new one, and is dropped by the next sweep, so the buckets kept are those of
// the principals seen within about a burst's worth of time (at most a minute more). It is safe for
// concurrent use.
type limiter struct {
	limits rateLimits
	logger *slog.Logger
	// refused, when set, is called for the first refusal of a principal since it was last
	// admitted (the hub puts it on the ledger: denied attempts are logged, once per run of them).
	refused func(r *http.Request, p auth.Principal)
	now     func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	swept   time.Time
}

type bucketKey struct {
	kind            auth.Kind
	issuer, subject string
}

type bucket struct {
	tokens  *rate.Limiter
	limit   rateLimit
	last    time.Time // the last request
	refused bool      // the last request was refused
}

func newLimiter(ls rateLimits, logger *slog.Logger) *limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &limiter{limits: ls, logger: logger, now: time.Now, buckets: map[bucketKey]*bucket{}}
}

// admit takes a token from p's bucket. Without one it returns false and how long until there is
// one; the refused request takes nothing, so a client that retries after that wait is admitted.
// started reports whether this refusal is the first since p was last admitted.
func (l *limiter) admit(p auth.Principal) (ok bool, wait time.Duration, started bool) {
	lim := l.limits.of(p)
	if lim.Rate == 0 {
		return true, 0, false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	k := bucketKey{p.Kind, p.Issuer, auth.CanonicalSubject(p.Subject)}
	b := l.buckets[k]
	switch {
	case b == nil:
		b = &bucket{tokens: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst), limit: lim}
		l.buckets[k] = b
	case b.limit != lim: // the same person under another department's token
		b.tokens.SetLimitAt(now, rate.Limit(lim.Rate))
		b.tokens.SetBurstAt(now, lim.Burst)
		b.limit = lim
	}
	b.last = now
	r := b.tokens.ReserveN(now, 1)
	if d := r.DelayFrom(now); !r.OK() || d > 0 {
		r.CancelAt(now)
		started = !b.refused
		b.refused = true
		return false, d, started
	}
	b.refused = false
	return true, 0, false
}

// sweep drops the buckets that have filled up again since their last request (l.mu held).
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < sweepInterval {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.last).Seconds() >= float64(b.limit.Burst)/b.limit.Rate { // refilled
			delete(l.buckets, k)
		}
	}
}

// size returns the number of buckets held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// middleware refuses the requests of a principal over its limit (after auth.Middleware, which put
// the principal in the context); it is next itself when no principal has a limit.
func (l *limiter) middleware(next http.Handler) http.Handler {
	if !l.limits.any() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok {
			if ok, wait, started := l.admit(p); !ok {
				if started {
					l.logRefused(r, p)
					if l.refused != nil {
						l.refused(r, p)
					}
				}
				refuseRateLimited(w, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate wraps verify (graph.HandlerConfig.Authenticate, for a websocket's connection_init
// token) so that starting a connection counts as a request: over the limit, the error wraps
// graph.ErrRateLimited.
func (l *limiter) authenticate(verify func(string) (auth.Principal, error)) func(string) (auth.Principal, error) {
	if !l.limits.any() {
		return verify
	}
	return func(token string) (auth.Principal, error) {
		p, err := verify(token)
		if err != nil {
			return p, err
		}
		if ok, wait, _ := l.admit(p); !ok {
			return auth.Principal{}, fmt.Errorf("%w: too many requests, retry after %ds", graph.ErrRateLimited, retryAfter(wait))
		}
		return p, nil
	}
}

func (l *limiter) logRefused(r *http.Request, p auth.Principal) {
	lim := l.limits.of(p)
	l.logger.WarnContext(r.Context(), "rate limited: refusing a principal's requests until its bucket refills",
		slog.String("kind", string(p.Kind)), slog.String("department", p.Department), slog.String("issuer", p.Issuer),
		slog.String("token_id", p.TokenID), slog.String("limit", lim.String()))
}

// retryAfter is wait in whole seconds, rounded up, at least 1.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// refuseRateLimited writes the 429: Retry-After and a GraphQL error with the code RATE_LIMITED
// (and retryAfter, in seconds, in its extensions).
func refuseRateLimited(w http.ResponseWriter, wait time.Duration) {
	secs := retryAfter(wait)
	b, err := json.Marshal(&graphql.Response{Errors: gqlerror.List{{
		Message:    fmt.Sprintf("too many requests: over this caller's rate limit; retry after %ds", secs),
		Extensions: map[string]any{"code": graph.CodeRateLimited, "retryAfter": secs},
	}}})
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if err != nil { // not for plain strings and ints
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write(b)
}
