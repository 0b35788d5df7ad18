package ledger

// Department mirrors (C2SP tlog-mirror cosigners that hold a full copy of the log, package mirror).
// With WithMirrors the log asks every mirror, after each round of integration, to cosign its
// latest published checkpoint; a mirror answers only once it has stored that tree's entries and
// tiles (verified against the checkpoint). The mirrored size is the largest size that at least the
// mirror quorum has cosigned: the entries below it survive a total loss of the hub.
//
// Publication does not wait for the mirrors: a mirror follows the published tree, so the log
// publishes a checkpoint once its witnesses cosigned it (as without mirrors) and then asks the
// mirrors. What the mirrors bound is the exposure: an entry is acknowledged when it is durable at
// the hub, and once the oldest acknowledged entry not yet held by the mirror quorum is older than
// the maximum lag, the holder of the lease sequences no new entry, its own or one another instance
// forwarded (ErrMirrorsBehind; a forwarded one stays queued, its forwarder's append fails), so every
// request fails closed until the mirrors catch up. The time from an entry's acknowledgement to its mirror quorum is
// recorded (MirrorSet.Status: p50 and p99 of the recent ones).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrMirrorsBehind: the mirror quorum has not stored entries acknowledged longer ago than the
// maximum lag; the log takes no more entries until it does.
var ErrMirrorsBehind = errors.New("ledger: the department mirrors are behind; appends are refused until they hold the acknowledged entries")

// MirrorCosigner is a department mirror (a *mirror.Client is one).
type MirrorCosigner interface {
	Name() string
	// Cosign returns the mirror's cosignature of checkpoint once it has stored the checkpoint's
	// contents, and an error before.
	Cosign(ctx context.Context, checkpoint []byte) ([]byte, error)
}

// DefaultMirrorTimeout bounds one request to one mirror.
const DefaultMirrorTimeout = 5 * time.Second

// maxMirrorWindows is how many recent acknowledgement-to-mirror-quorum times are kept.
const maxMirrorWindows = 4096

// NewMirrorSet returns the mirrors a log counts: quorum of them towards the mirrored size, with
// appends refused once an acknowledged entry has waited longer than maxLag for it (0: no bound).
// Give it to the log with WithMirrors; read its progress with Status.
func NewMirrorSet(ms []MirrorCosigner, quorum int, maxLag time.Duration) *MirrorSet {
	set := &MirrorSet{quorum: quorum, maxLag: maxLag}
	for _, m := range ms {
		set.peers = append(set.peers, &mirrorPeer{c: m})
	}
	return set
}

// WithMirrors makes the log ask the set's mirrors to cosign its published checkpoints and hold
// appends to the set's bound.
func WithMirrors(set *MirrorSet) Option { return func(l *Log) { l.mirroring = set } }

type mirrorPeer struct {
	c      MirrorCosigner
	origin string // the origin size is of: a new log key's origin starts again from 0
	size   uint64 // the largest size it cosigned under origin
}

// ackMark is the end of an acknowledged batch and when it was acknowledged.
type ackMark struct {
	end uint64
	at  time.Time
}

// MirrorSet is the department mirrors of a log and what they hold. Safe for concurrent use.
type MirrorSet struct {
	peers  []*mirrorPeer
	quorum int
	maxLag time.Duration

	running atomic.Bool // a mirrorRound is under way

	mu       sync.Mutex
	mirrored uint64    // the size the quorum holds
	pending  []ackMark // acknowledged batches beyond mirrored, oldest first
	windows  []time.Duration
}

// MirrorStatus is what the mirrors hold.
type MirrorStatus struct {
	Mirrors, Quorum int
	// Mirrored is the largest size at least Quorum mirrors cosigned.
	Mirrored uint64
	// Oldest is how long the oldest acknowledged entry not yet mirrored has waited (0: none).
	Oldest time.Duration
	// P50 and P99 of the time from acknowledgement to mirror quorum, over the recent entries
	// (counted once per acknowledged batch); Samples is how many.
	P50, P99 time.Duration
	Samples  int
}

// Status reports the mirrors' progress.
func (m *MirrorSet) Status() MirrorStatus {
	if m == nil {
		return MirrorStatus{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MirrorStatus{Mirrors: len(m.peers), Quorum: m.quorum, Mirrored: m.mirrored, Samples: len(m.windows)}
	if len(m.pending) > 0 {
		s.Oldest = time.Since(m.pending[0].at)
	}
	if n := len(m.windows); n > 0 {
		w := slices.Clone(m.windows)
		slices.Sort(w)
		s.P50, s.P99 = w[n/2], w[min(n-1, n*99/100)]
	}
	return s
}

// Behind is ErrMirrorsBehind, with details, while the log refuses appends for it; nil otherwise.
func (m *MirrorSet) Behind() error { return m.behind() }

// acknowledged notes a batch ending at end, acknowledged now.
func (m *MirrorSet) acknowledged(end uint64) {
	if m == nil || len(m.peers) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, ackMark{end: end, at: time.Now()})
}

// behind reports ErrMirrorsBehind when an acknowledged entry has waited longer than the bound.
func (m *MirrorSet) behind() error {
	if m == nil || len(m.peers) == 0 || m.maxLag <= 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) > 0 && time.Since(m.pending[0].at) > m.maxLag {
		return fmt.Errorf("%w (entries from %d on acknowledged %s ago; bound %s)", ErrMirrorsBehind,
			m.mirrored, time.Since(m.pending[0].at).Round(time.Millisecond), m.maxLag)
	}
	return nil
}

// mirrorRound asks the mirrors that have not cosigned the published checkpoint to do so, and
// moves the mirrored size.
func (l *Log) mirrorRound(ctx context.Context) {
	m := l.mirroring
	pub := l.Latest()
	if m == nil || len(m.peers) == 0 || pub.Note == nil {
		return
	}
	var wg sync.WaitGroup
	m.mu.Lock()
	for _, p := range m.peers {
		if p.origin != pub.Origin {
			// A rotated log key (keys.go): a cosignature counts for the origin it was made for, so
			// the mirror is asked again under the new one. The mirrored size does not go back.
			p.origin, p.size = pub.Origin, 0
		}
	}
	m.mu.Unlock()
	for _, p := range m.peers {
		if p.size >= pub.Size {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, DefaultMirrorTimeout)
			defer cancel()
			if _, err := p.c.Cosign(cctx, pub.Note); err != nil {
				l.logger.DebugContext(ctx, "mirror did not cosign yet", slog.String("mirror", p.c.Name()),
					slog.Uint64("size", pub.Size), slog.String("error", err.Error()))
				return
			}
			m.mu.Lock()
			p.size = max(p.size, pub.Size)
			m.mu.Unlock()
		}()
	}
	wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	sizes := make([]uint64, len(m.peers))
	for i, p := range m.peers {
		sizes[i] = p.size
	}
	slices.Sort(sizes)
	q := max(m.quorum, 1)
	if q > len(sizes) {
		return
	}
	held := sizes[len(sizes)-q] // the q-th largest
	if held <= m.mirrored {
		return
	}
	m.mirrored = held
	now := time.Now()
	i := 0
	for ; i < len(m.pending) && m.pending[i].end <= held; i++ {
		m.windows = append(m.windows, now.Sub(m.pending[i].at))
	}
	m.pending = m.pending[i:]
	if over := len(m.windows) - maxMirrorWindows; over > 0 {
		m.windows = m.windows[over:]
	}
}
