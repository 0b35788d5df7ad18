package mongostore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Calls that arrive while a write runs share the next one, each with its own outcome; a caller
// gone before its group is formed is dropped; the writer stops when nothing waits, and the next
// call starts another.
func TestGroupWriteSharesWrites(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var groups [][]int
	g := &groupWrite[int]{max: 3, write: func(ctx context.Context, items []int) []error {
		mu.Lock()
		first := len(groups) == 0
		groups = append(groups, slices.Clone(items))
		mu.Unlock()
		if first {
			<-release // the first write holds the others back
		}
		errs := make([]error, len(items))
		for i, v := range items {
			if v%2 == 1 {
				errs[i] = fmt.Errorf("odd %d", v)
			}
		}
		return errs
	}}
	ctx := t.Context()
	results := make(chan string, 10)
	call := func(ctx context.Context, v int) {
		err := g.do(ctx, v)
		results <- fmt.Sprint(v, ":", err)
	}
	go call(ctx, 0)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(groups) == 1 })
	gone, cancel := context.WithCancel(ctx)
	for _, v := range []int{2, 3, 4, 5} {
		c := ctx
		if v == 3 {
			c = gone
		}
		go call(c, v)
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == v-1 })
	}
	cancel()
	if got := <-results; got != "3:context canceled" {
		t.Fatalf("the caller gone first got %q, want its context's error", got)
	}
	close(release)
	var got []string
	for range 4 {
		got = append(got, <-results)
	}
	slices.Sort(got)
	if want := []string{"0:<nil>", "2:<nil>", "4:<nil>", "5:odd 5"}; !slices.Equal(got, want) {
		t.Errorf("outcomes %q, want %q", got, want)
	}
	mu.Lock()
	if want := [][]int{{0}, {2, 4, 5}}; fmt.Sprint(groups) != fmt.Sprint(want) {
		t.Errorf("writes %v, want %v (the three waiting in one, the gone caller dropped)", groups, want)
	}
	mu.Unlock()
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return !g.writing })
	if err := g.do(ctx, 6); err != nil {
		t.Errorf("a call after the writer stopped = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

// Items queued together by doAll share a group as far as max (by weight) and their keys allow:
// an item whose key is in the group, or too heavy for what is left, waits for a later group, in
// order; one heavier than max goes alone.
func TestGroupWriteKeysAndWeights(t *testing.T) {
	type item struct {
		key string
		w   int
	}
	release := make(chan struct{})
	var mu sync.Mutex
	var groups []string
	g := &groupWrite[item]{max: 4,
		key:    func(it item) string { return it.key },
		weight: func(it item) int { return it.w },
		write: func(ctx context.Context, items []item) []error {
			mu.Lock()
			first := len(groups) == 0
			var names []string
			for _, it := range items {
				names = append(names, fmt.Sprint(it.key, it.w))
			}
			groups = append(groups, fmt.Sprint(names))
			mu.Unlock()
			if first {
				<-release
			}
			return make([]error, len(items))
		}}
	ctx := t.Context()
	go func() { _ = g.do(ctx, item{"z", 1}) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(groups) == 1 })
	done := make(chan []error)
	go func() {
		done <- g.doAll(ctx, []item{{"a", 1}, {"a", 1}, {"b", 2}, {"c", 2}, {"d", 1}, {"e", 9}, {"", 1}, {"", 1}})
	}()
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 8 })
	close(release)
	for i, err := range <-done {
		if err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"[z1]", "[a1 b2 d1]", "[a1 c2 1]", "[e9]", "[1]"}
	if !slices.Equal(groups, want) {
		t.Errorf("writes %q, want %q", groups, want)
	}
}
