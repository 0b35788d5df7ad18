package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/govhub/govhub/ledger"
)

// typicalPurpose is the purpose code of the typical entry; other entry sizes shorten or lengthen it.
const typicalPurpose = "home-purchase-eligibility"

// Limits of one padding field line, "field <name> deny\n": 12 bytes around a name of 7 to 128
// characters (a name starts with a unique "pad.NNN" prefix).
const (
	padOverhead = len("field ") + len(" deny\n")
	padMinLine  = padOverhead + 7
	padMaxLine  = padOverhead + 128
	maxPurpose  = 128 // the longest token
)

// entryMaker makes the load's entries: a housing clerk's read of one citizen's three fields, the
// typical access entry the hub writes (368 bytes, as in the bench module), stamped with the time
// it is made and with a request digest and subject commitment derived from a counter, so that
// every entry differs while all have the same size. Other sizes are reached by changing the
// length of the purpose code and adding padding fields.
type entryMaker struct {
	purpose string
	pad     []ledger.Field
	size    int
}

// typicalEntrySize is the size of the typical entry.
func typicalEntrySize() int {
	m := &entryMaker{purpose: typicalPurpose}
	data, err := ledger.FormatEntry(m.entry(0, time.Now()))
	if err != nil {
		panic(fmt.Sprintf("the typical entry does not format: %v", err)) // a programmer error
	}
	return len(data)
}

// newEntryMaker returns a maker of entries of exactly size bytes (0: the typical entry).
func newEntryMaker(size int) (*entryMaker, error) {
	typical := typicalEntrySize()
	if size == 0 {
		size = typical
	}
	// The smallest entry has a one-character purpose and no padding; the purpose absorbs up to
	// 127 more bytes, padding fields the rest.
	smallest := typical - len(typicalPurpose) + 1
	if size < smallest || size > ledger.MaxEntrySize {
		return nil, fmt.Errorf("entry size %d: want %d to %d bytes", size, smallest, ledger.MaxEntrySize)
	}
	extra := size - smallest
	m := &entryMaker{size: size}
	if extra > maxPurpose-1 {
		n := (extra - (maxPurpose - 1) + padMaxLine - 1) / padMaxLine
		fields := extra - min(maxPurpose-1, extra-n*padMinLine)
		for j := range n {
			line := fields / n
			if j < fields%n {
				line++
			}
			name := fmt.Sprintf("pad.%03d", j)
			name += strings.Repeat("x", line-padOverhead-len(name))
			m.pad = append(m.pad, ledger.Field{Name: name, Level: "deny"})
		}
		extra -= fields
	}
	m.purpose = (typicalPurpose + strings.Repeat("x", maxPurpose))[:1+extra]
	data, err := ledger.FormatEntry(m.entry(0, time.Now()))
	if err != nil {
		return nil, fmt.Errorf("entry size %d: %w", size, err)
	}
	if len(data) != size {
		return nil, fmt.Errorf("entry size %d: made an entry of %d bytes", size, len(data))
	}
	return m, nil
}

// entry returns the i'th entry, stamped with now.
func (m *entryMaker) entry(i uint64, now time.Time) ledger.Entry {
	var ctr [8]byte
	binary.BigEndian.PutUint64(ctr[:], i)
	req := sha256.Sum256(append([]byte("ledgerload/request\x00"), ctr[:]...))
	sub := sha256.Sum256(append([]byte("ledgerload/subject\x00"), ctr[:]...))
	fields := append([]ledger.Field{
		{Name: "tax.annualIncome", Level: "commit"},
		{Name: "identity.name", Level: "reveal"},
		{Name: "health.bloodType", Level: "deny"},
	}, m.pad...)
	return ledger.Entry{
		Kind:       ledger.KindAccess,
		Time:       now,
		Department: "housing",
		Role:       "clerk",
		Purpose:    m.purpose,
		Policy:     1,
		Request:    req[:],
		Outcome:    ledger.OutcomeAllowed,
		Subjects:   [][]byte{sub[:]},
		Fields:     fields,
	}
}
