package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressInterval is how often a progress line is rewritten at most.
const progressInterval = 250 * time.Millisecond

// progress prints one line of progress of a long pass, "label done/total unit (p%), rate/s, ETA",
// rewritten in place with a carriage return at most every progressInterval, and erased when the
// pass ends so that what is printed next starts on a clean line. A nil *progress prints nothing
// (not a terminal, or --quiet). It is used from one goroutine.
type progress struct {
	w   io.Writer
	now func() time.Time

	label, unit string
	start       time.Time
	startDone   uint64
	last        time.Time
	begun       bool // the stage has had its first call
	shown       bool // a line is on the screen
}

// newProgress returns a progress printer writing to w when w is a terminal and quiet is false,
// and nil (print nothing) otherwise.
func newProgress(w io.Writer, quiet bool) *progress {
	if quiet || !isTerminal(w) {
		return nil
	}
	return &progress{w: w, now: time.Now}
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// stage starts a new pass: the line it prints reads "label done/total unit…". It returns the
// function to report to, suitable for ledger.WithProgress.
func (p *progress) stage(label, unit string) func(done, total uint64) {
	if p == nil {
		return func(done, total uint64) {}
	}
	p.clear()
	p.label, p.unit, p.begun = label, unit, false
	return p.report
}

func (p *progress) report(done, total uint64) {
	now := p.now()
	if !p.begun {
		p.begun, p.start, p.startDone, p.last = true, now, done, now
		return
	}
	if now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now
	line := fmt.Sprintf("%s %d/%d %s", p.label, done, total, p.unit)
	if total > 0 {
		line += fmt.Sprintf(" (%d%%)", done*100/total)
	}
	if elapsed := now.Sub(p.start).Seconds(); elapsed > 0 && done > p.startDone {
		rate := float64(done-p.startDone) / elapsed
		line += fmt.Sprintf(", %.0f/s", rate)
		if total >= done {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			line += ", ETA " + eta.Round(time.Second).String()
		}
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.shown = true
}

// clear erases the line, if one is shown.
func (p *progress) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
