package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Rotating the log key (the protocol is in keys.go): the key state, and RotateKey, which the
// sequencer carries out between two batches.

// keyState is the log's key history and the signers it holds: signers[i] signs era i, nil when
// this instance does not hold that key (an era it never signed in since it started).
type keyState struct {
	keys    Keys
	signers []note.Signer
}

func newKeyState(k Keys, v note.Verifier, s note.Signer) (*keyState, error) {
	if len(k.eras) == 0 {
		k = SingleKey(v)
	}
	if err := k.check(); err != nil {
		return nil, err
	}
	cur := k.Current()
	if cur.Name() != s.Name() || cur.KeyHash() != s.KeyHash() {
		return nil, fmt.Errorf("ledger: the log key %s is not the newest key of the history (%s)", s.Name(), cur.Name())
	}
	ss := make([]note.Signer, len(k.eras))
	ss[len(ss)-1] = s
	return &keyState{keys: k, signers: ss}, nil
}

// keys returns the log key's history (Reader.Keys publishes it).
func (l *Log) keys() Keys { return l.ks.Load().keys }

// reloadKeys reads the key history again (Config.Reload) and takes it if it extends the one held.
// It reports whether the history grew.
func (l *Log) reloadKeys() bool {
	if l.reload == nil {
		return false
	}
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	k, s, err := l.reload()
	if err != nil {
		l.logger.Warn("reading the log keys again", slog.String("error", err.Error()))
		return false
	}
	old := l.ks.Load()
	if len(k.eras) <= len(old.keys.eras) {
		return false
	}
	if !k.Extends(old.keys) {
		l.logger.Error("the log key history read again does not extend the one held; ignored")
		return false
	}
	ns, err := newKeyState(k, nil, s)
	if err != nil {
		l.logger.Error("the log key history read again", slog.String("error", err.Error()))
		return false
	}
	copy(ns.signers, old.signers)
	l.ks.Store(ns)
	return true
}

// signerForIndex is the signer of the receipt of the entry at index.
func (l *Log) signerForIndex(index uint64) (note.Signer, error) {
	ks := l.ks.Load()
	if !l.Leading() {
		// An instance that does not sequence may not know yet of an era that began before index
		// (the rotating instance stores the new era before it sequences anything in it): it reads
		// the keys again (Config.Reload, cheap while nothing changed).
		if ks.keys.eraOfIndex(index) == len(ks.keys.eras)-1 && l.reloadKeys() {
			ks = l.ks.Load()
		}
		// Forwarding, it read the batches up to its entry: a link entry among them that begins no
		// era it knows is a rotation its key files do not show yet. Signing with the key it holds
		// would give a receipt no verifier accepts.
		l.fwd.mu.Lock()
		link := l.fwd.link
		l.fwd.mu.Unlock()
		if last := ks.keys.eras[len(ks.keys.eras)-1].Start; link > last && link <= index {
			return nil, fmt.Errorf("ledger: the log key was rotated at entry %d, but this instance's key files do not show the new key (share the key directory among the instances)", link)
		}
	}
	if s := ks.signers[ks.keys.eraOfIndex(index)]; s != nil {
		return s, nil
	}
	if l.reloadKeys() {
		ks = l.ks.Load()
		if s := ks.signers[ks.keys.eraOfIndex(index)]; s != nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("ledger: this instance does not hold the log key %s, which signs entry %d", ks.keys.ForIndex(index).Name(), index)
}

// signerForSize is the signer of the checkpoint of a tree of size n.
func (l *Log) signerForSize(n uint64) (note.Signer, error) {
	ks := l.ks.Load()
	i := ks.keys.eraOfSize(n)
	if s := ks.signers[i]; s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("ledger: this instance does not hold the log key %s, which signs the checkpoint of size %d", ks.keys.eras[i].Verifier.Name(), n)
}

// eraLimit is the start of the first era after a tree of size n: the old era's final checkpoint
// is of exactly that size, so one integration round stops there.
func (l *Log) eraLimit(n uint64) uint64 {
	for _, e := range l.keys().eras {
		if e.Start > n {
			return e.Start
		}
	}
	return ^uint64(0)
}

// checkpointSigner is how the integrator gets the checkpoint of a tree of size n: nil and no
// error when n is where a later key starts (the earlier key's final checkpoint is in the history,
// signed and cosigned already: an instance holding only the newest key, a restored hub say,
// integrates through a handover), else the signer of size n.
func (l *Log) checkpointSigner(n uint64) (note.Signer, error) {
	if _, ok := l.finalAt(n); ok {
		return nil, nil
	}
	return l.signerForSize(n)
}

// finalAt returns the final checkpoint of the era that ends at size n, if a later era starts there.
func (l *Log) finalAt(n uint64) (Checkpoint, bool) {
	k := l.keys()
	for i := 1; i < len(k.eras); i++ {
		if k.eras[i].Start == n && len(k.eras[i].Final) > 0 {
			cp, err := ParseCheckpoint(k.eras[i].Final, k.eras[i-1].Verifier)
			return cp, err == nil
		}
	}
	return Checkpoint{}, false
}

// checkpointAt is the checkpoint of the integrated tree of size n with the given root: the
// history's final checkpoint where an era ends at n (its root must be this one), else one signed
// now with the key of size n.
func (l *Log) checkpointAt(n uint64, root tlog.Hash) (Checkpoint, error) {
	if final, ok := l.finalAt(n); ok {
		if final.Root != root {
			return Checkpoint{}, fmt.Errorf("ledger: the tree of size %d hashes to %s, but the final checkpoint of the key history says %s", n, root, final.Root)
		}
		return final, nil
	}
	s, err := l.signerForSize(n)
	if err != nil {
		return Checkpoint{}, err
	}
	return SignCheckpoint(s, n, root)
}

// parseCheckpoint verifies a stored checkpoint under the key history, reading it again once if
// the checkpoint's origin is not known (another instance rotated the key).
func (l *Log) parseCheckpoint(text []byte) (Checkpoint, error) {
	cp, err := l.keys().ParseCheckpoint(text)
	if err != nil && l.reloadKeys() {
		cp, err = l.keys().ParseCheckpoint(text)
	}
	return cp, err
}

// rotation is a RotateKey request, carried to the sequencer with its rotation entry.
type rotation struct {
	entry   Entry
	signer  note.Signer
	key     string
	persist func(Era) error
	wait    time.Duration
	era     chan Era // the new era, on success
}

// DefaultRotationWait bounds how long RotateKey waits for the old key's final checkpoint to be
// published (integrated, and cosigned by the witnesses when the log has them).
const DefaultRotationWait = 30 * time.Second

// RotateKey rotates the log key to s, whose verifier key (note format) is vkey, as keys.go
// describes. e is the rotation entry (kind rotation, reason "log", record LogKeyDigest(vkey)); the
// link entry copies its actor, official and policy. persist must store the new era durably (with
// the new signer, where the instances sharing the log read their keys) before it returns nil;
// the log switches keys only then. RotateKey returns the rotation entry's receipt (signed by the
// old key) and the new era. Only the instance that sequences (holds the lease) rotates.
func (l *Log) RotateKey(ctx context.Context, e Entry, s note.Signer, vkey string, persist func(Era) error) (Receipt, Era, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Receipt{}, Era{}, fmt.Errorf("ledger: the new log key: %w", err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return Receipt{}, Era{}, errors.New("ledger: the new log signer and verifier key are not the same key")
	}
	for _, old := range l.keys().eras {
		if old.Key == "" {
			return Receipt{}, Era{}, errors.New("ledger: the log was opened without its key history's key texts (Config.Keys): a rotation would publish a history no verifier can check")
		}
		if old.Verifier.Name() == v.Name() {
			return Receipt{}, Era{}, fmt.Errorf("ledger: the origin %q was used by an earlier log key; a new key needs a new origin", v.Name())
		}
	}
	if e.Kind != KindRotation || e.Reason != ReasonLogKey || string(e.Record) != string(LogKeyDigest(vkey)) {
		return Receipt{}, Era{}, errors.New("ledger: RotateKey needs the log-key rotation entry of this key")
	}
	data, err := FormatEntry(e)
	if err != nil {
		return Receipt{}, Era{}, err
	}
	if err := l.Failed(); err != nil {
		return Receipt{}, Era{}, err
	}
	if !l.Leading() {
		return Receipt{}, Era{}, fmt.Errorf("%w: the log key is rotated on the instance that sequences", ErrNotLeader)
	}
	rot := &rotation{entry: e, signer: s, key: vkey, persist: persist, wait: DefaultRotationWait, era: make(chan Era, 1)}
	req := &appendReq{data: data, done: make(chan appendResult, 1), rot: rot}
	if !l.submit(req) {
		return Receipt{}, Era{}, ErrQueueFull
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return Receipt{}, Era{}, res.err
		}
		era := <-rot.era
		signer, err := l.signerForIndex(res.index)
		if err != nil {
			return Receipt{}, era, err
		}
		r, err := signReceipt(signer, res.index, LeafHash(data))
		return r, era, err
	case <-ctx.Done():
		return Receipt{}, Era{}, fmt.Errorf("ledger: waiting for the key rotation: %w", ctx.Err())
	}
}

// rotate carries out a rotation in the sequencer goroutine (which sequences nothing else
// meanwhile), answering req.
func (l *Log) rotate(ctx context.Context, req *appendReq) {
	rot := req.rot
	index, era, err := l.rotateSteps(ctx, req)
	if err != nil {
		l.logger.ErrorContext(ctx, "log key rotation failed; the log goes on under the old key", slog.String("error", err.Error()))
		req.done <- appendResult{err: err}
		return
	}
	rot.era <- era
	req.done <- appendResult{index: index}
}

func (l *Log) rotateSteps(ctx context.Context, req *appendReq) (uint64, Era, error) {
	rot := req.rot
	if !l.Leading() {
		return 0, Era{}, fmt.Errorf("%w: the log key is rotated on the instance that sequences", ErrNotLeader)
	}
	// 1. The rotation entry, alone, the old era's last.
	index, err := l.writeOne(ctx, req.data)
	if err != nil {
		return 0, Era{}, err
	}
	start := index + 1
	if l.next != start {
		return index, Era{}, fmt.Errorf("ledger: the log grew past the rotation entry at %d", index)
	}
	// 2. The old origin's final checkpoint, published.
	wctx, cancel := context.WithTimeout(ctx, rot.wait)
	defer cancel()
	l.kickIntegrator()
	final, err := l.WaitCheckpoint(wctx, start)
	if err != nil {
		return index, Era{}, fmt.Errorf("ledger: the old log key's final checkpoint was not published (the rotation entry at %d names a key that never took effect; rotate again): %w", index, err)
	}
	if final.Size != start {
		return index, Era{}, fmt.Errorf("ledger: the checkpoint published after the rotation entry is of size %d, not %d", final.Size, start)
	}
	proof, err := l.reader.ProveInclusion(ctx, index, start)
	if err != nil {
		return index, Era{}, err
	}
	v, _ := note.NewVerifier(rot.key)
	era := Era{Key: rot.key, Verifier: v, Start: start, Final: final.Note, Rotation: req.data, Proof: proof}
	// 3. Stored, then taken.
	if err := rot.persist(era); err != nil {
		return index, Era{}, fmt.Errorf("ledger: storing the new log key (the rotation entry at %d names a key that never took effect; rotate again): %w", index, err)
	}
	old := l.ks.Load()
	ns := &keyState{keys: Keys{eras: append(old.keys.Eras(), era)}, signers: append(append([]note.Signer(nil), old.signers...), rot.signer)}
	l.ks.Store(ns)
	l.logger.InfoContext(ctx, "log key rotated", slog.String("origin", v.Name()), slog.Uint64("start", start))
	// 4. The link entry, the new era's first.
	l.writeLink(ctx, rot.entry, final)
	return index, era, nil
}

// writeOne writes one entry as a batch of its own and returns its index.
func (l *Log) writeOne(ctx context.Context, data []byte) (uint64, error) {
	r := &appendReq{data: data, done: make(chan appendResult, 1)}
	l.writeBatch(ctx, []*appendReq{r})
	res := <-r.done
	return res.index, res.err
}

// linkEntry is the link entry of an era that follows final, made from the rotation entry e.
func linkEntry(e Entry, final Checkpoint, now time.Time) ([]byte, error) {
	link := Entry{Kind: KindRotation, Time: now, Department: e.Department, Role: e.Role, Official: e.Official,
		Policy: e.Policy, Outcome: OutcomeAllowed, Reason: ReasonLogLink, Record: final.Root[:]}
	return FormatEntry(link)
}

// writeLink writes the link entry of the current era at its start. Should that fail, the link is
// left pending: the sequencer writes it before the next batch (linkPending).
func (l *Log) writeLink(ctx context.Context, e Entry, final Checkpoint) {
	data, err := linkEntry(e, final, time.Now())
	if err != nil {
		l.logger.ErrorContext(ctx, "making the link entry", slog.String("error", err.Error()))
		return
	}
	l.linkData = data
	l.writePendingLink(ctx)
}

// writePendingLink writes the pending link entry, if any, at the current era's start.
func (l *Log) writePendingLink(ctx context.Context) error {
	if l.linkData == nil {
		return nil
	}
	ks := l.ks.Load()
	start := ks.keys.eras[len(ks.keys.eras)-1].Start
	end, err := l.lastBatchEnd(ctx, start)
	if err != nil {
		return err
	}
	if end != start || l.next > start {
		l.linkData = nil // written already (by this instance before a restart, or a previous holder)
		return nil
	}
	l.setNext(start)
	index, err := l.writeOne(ctx, l.linkData)
	if err != nil {
		l.logger.ErrorContext(ctx, "writing the link entry; will retry before the next batch", slog.String("error", err.Error()))
		return err
	}
	if index != start {
		l.logger.ErrorContext(ctx, "the link entry was written past the era's start", slog.Uint64("index", index), slog.Uint64("start", start))
	}
	l.linkData = nil
	return nil
}

// resumeLink finds, when the log opens (or this instance takes over the lease), an era with no
// entry yet: a rotation whose link entry was not written before a crash. It is written first.
func (l *Log) resumeLink() {
	ks := l.ks.Load()
	if len(ks.keys.eras) < 2 {
		return
	}
	era := ks.keys.eras[len(ks.keys.eras)-1]
	if l.next != era.Start {
		return
	}
	e, err := ParseEntry(era.Rotation)
	if err != nil {
		l.logger.Error("the rotation entry of the newest log key", slog.String("error", err.Error()))
		return
	}
	final, err := ParseCheckpoint(era.Final, ks.keys.eras[len(ks.keys.eras)-2].Verifier)
	if err != nil {
		l.logger.Error("the final checkpoint of the previous log key", slog.String("error", err.Error()))
		return
	}
	if l.linkData, err = linkEntry(e, final, time.Now()); err != nil {
		l.logger.Error("making the link entry", slog.String("error", err.Error()))
	}
}
