package ledger_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/govhub/govhub/ledger"
)

// memStorage is a ledger.Storage in memory, for examples and tests that need no database. It keeps
// the rules the store's implementations keep: a batch key is taken once, tiles and bundles only
// grow, the tree state moves by compare-and-swap.
type memStorage struct {
	mu          sync.Mutex
	batches     map[uint64]ledger.Batch
	tiles       map[[2]uint64][]byte
	bundles     map[uint64][]byte
	state       ledger.TreeState
	checkpoints map[uint64][]byte
	cosigned    map[uint64][]byte
	leases      map[uint64]memLease
	queue       []ledger.Queued
}

type memLease struct {
	holder  string
	expires time.Time
}

var _ ledger.Storage = (*memStorage)(nil)

func newMemStorage() *memStorage {
	return &memStorage{
		batches:     map[uint64]ledger.Batch{},
		tiles:       map[[2]uint64][]byte{},
		bundles:     map[uint64][]byte{},
		checkpoints: map[uint64][]byte{},
		cosigned:    map[uint64][]byte{},
		leases:      map[uint64]memLease{},
	}
}

func (m *memStorage) AddBatch(ctx context.Context, b ledger.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.batches[b.First]; ok {
		return ledger.ErrDuplicate
	}
	m.batches[b.First] = ledger.Batch{First: b.First, Leaves: slices.Clone(b.Leaves)}
	return nil
}

func (m *memStorage) ReadBatch(ctx context.Context, first uint64) (ledger.Batch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[first]
	if !ok {
		return ledger.Batch{}, ledger.ErrNotFound
	}
	return b, nil
}

func (m *memStorage) WriteTiles(ctx context.Context, tiles []ledger.TileData) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range tiles {
		k := [2]uint64{uint64(t.Level), t.N}
		if len(t.Hashes) > len(m.tiles[k]) {
			m.tiles[k] = bytes.Clone(t.Hashes)
		}
	}
	return nil
}

func (m *memStorage) ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tiles[[2]uint64{uint64(level), n}]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return bytes.Clone(t), nil
}

func (m *memStorage) WriteBundles(ctx context.Context, bundles []ledger.BundleData) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range bundles {
		if len(b.Data) > len(m.bundles[b.N]) {
			m.bundles[b.N] = bytes.Clone(b.Data)
		}
	}
	return nil
}

func (m *memStorage) ReadBundle(ctx context.Context, n uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bundles[n]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return bytes.Clone(b), nil
}

func (m *memStorage) ReadTreeState(ctx context.Context) (ledger.TreeState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, nil
}

func (m *memStorage) SwapTreeState(ctx context.Context, old, next ledger.TreeState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.Size != old.Size {
		return ledger.ErrConflict
	}
	m.state = ledger.TreeState{Size: next.Size, Root: bytes.Clone(next.Root), Checkpoint: bytes.Clone(next.Checkpoint)}
	return nil
}

func (m *memStorage) AddCheckpoint(ctx context.Context, size uint64, text []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.checkpoints[size]; ok && !bytes.Equal(old, text) {
		return ledger.ErrConflict
	}
	m.checkpoints[size] = bytes.Clone(text)
	return nil
}

func (m *memStorage) AddCosigned(ctx context.Context, size uint64, text []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.checkpoints[size]; !ok {
		return ledger.ErrNotFound
	}
	m.cosigned[size] = bytes.Clone(text)
	return nil
}

func (m *memStorage) LatestCosigned(ctx context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best []byte
	var size uint64
	for s, text := range m.cosigned {
		if best == nil || s > size {
			best, size = text, s
		}
	}
	if best == nil {
		return nil, ledger.ErrNotFound
	}
	return bytes.Clone(best), nil
}

func (m *memStorage) Checkpoints(ctx context.Context, fn func(size uint64, text []byte) error) error {
	m.mu.Lock()
	sizes := make([]uint64, 0, len(m.checkpoints))
	for s := range m.checkpoints {
		sizes = append(sizes, s)
	}
	slices.Sort(sizes)
	texts := make([][]byte, len(sizes))
	for i, s := range sizes {
		texts[i] = m.checkpoints[s]
	}
	m.mu.Unlock()
	for i, s := range sizes {
		if err := fn(s, bytes.Clone(texts[i])); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStorage) AddLease(ctx context.Context, term uint64, holder string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.leases[term]; ok {
		return ledger.ErrDuplicate
	}
	m.leases[term] = memLease{holder, expires}
	return nil
}

func (m *memStorage) LatestLease(ctx context.Context) (uint64, string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var term uint64
	found := false
	for t := range m.leases {
		if !found || t > term {
			term, found = t, true
		}
	}
	if !found {
		return 0, "", time.Time{}, ledger.ErrNotFound
	}
	l := m.leases[term]
	return term, l.holder, l.expires, nil
}

func (m *memStorage) DeleteLease(ctx context.Context, term uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, term)
	return nil
}

func (m *memStorage) Enqueue(ctx context.Context, q ledger.Queued) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, q)
	return nil
}

func (m *memStorage) Queued(ctx context.Context, limit int) ([]ledger.Queued, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.queue[:min(limit, len(m.queue))]), nil
}

func (m *memStorage) Dequeue(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = slices.DeleteFunc(m.queue, func(q ledger.Queued) bool { return q.ID == id })
	return nil
}
