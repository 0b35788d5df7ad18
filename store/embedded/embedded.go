// Package embedded runs the hub's default database: FerretDB v1.24 with its SQLite backend, inside
// the hub's own process, reachable only through a Unix socket in the data directory.
//
// Start takes an exclusive lock on the data directory (a second process gets ErrLocked with the
// holder's pid), removes a stale socket, opens the SQLite files with synchronous(full) so that every
// acknowledged write survives a power cut, and serves the MongoDB wire protocol on
// <dir>/mongod.sock. Callers connect to URI() with the ordinary mongo-driver.
//
// The files are also opened with temp_store(memory). FerretDB inserts a command's documents with
// one multi-row INSERT a hundred, inside a transaction, so SQLite keeps a statement journal of every
// page the statement changes (to undo that statement alone, say on a duplicate _id); past 64 KiB
// (a few documents whose keys land on scattered index pages) it spills that journal to a new
// temporary file: an open, writes and an unlink on the store's one writer, for every such insert.
// In memory it never does. A statement journal is never read after a crash (the WAL is what makes
// a commit durable), so this changes no guarantee; the other temporary files (sorts for an index
// built over existing documents, VACUUM, which the hub never runs) are in memory too.
//
// FerretDB pushes only the filter {_id: "<string>"} down to SQLite, as the expression
// _ferretdb_sjson->'$._id', while its own unique index is on _ferretdb_sjson->"_id"; so without
// help every lookup is a full scan. IndexIDs adds the matching expression index to every collection
// table; callers run it after creating their collections (store/mongostore does). A new collection
// keeps one unique index, on that expression; one that held documents before keeps both until
// MergeIDIndexes rebuilds it as one (govhub migrate indexes).
//
// Layout of the directory given to Start:
//
//	<dir>/LOCK          lock file (flock), holds the pid of the owner
//	<dir>/mongod.sock   the Unix socket (or a short private path when <dir> is too long for one)
//	<dir>/sqlite/       FerretDB's SQLite databases, one <database>.sqlite file each
//
// Everything in it is the process's own: directories 0700, files and the socket 0600 (Start and
// IndexIDs restrict the SQLite files, which FerretDB creates with SQLite's default mode).
package embedded

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one FerretDB itself uses
)

// ErrLocked reports that another process holds the data directory.
var ErrLocked = errors.New("data directory is in use by another process")

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path is 108 bytes with the NUL).
const maxSocketPath = 107

// Config describes one embedded database.
type Config struct {
	// Dir is the directory holding the lock, socket and SQLite files; created (mode 0700) if needed.
	Dir string
	// Logger receives FerretDB's own messages (wrap its handler in ErrorsOnly: FerretDB logs
	// statements and protocol dumps below error level); nil discards them all.
	Logger *slog.Logger
}

// Server is a running embedded FerretDB. Shutdown stops it and releases the directory.
type Server struct {
	dir       string
	sqliteDir string
	socket    string
	lock      *os.File
	cancel    context.CancelFunc
	done      chan struct{}

	mu      sync.Mutex
	indexed map[string]bool // SQLite table name → expression index known to exist

	docLocks DocumentLocks // LockDocument's and LockDocuments'
	upkeep   sync.Mutex    // LockUpkeep's
	writes   chan struct{} // LockWrites' one slot
	gate     gateStats     // what LockWrites measured (writegate.go)

	notesMu sync.Mutex
	notes   map[string]int64 // Note's (notes.go)
	counts  WriteCounts      // Writes' (writecounts.go)
}

// Start launches FerretDB on cfg.Dir. It returns once the socket accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded: no directory given")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: resolving %s: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: restricting %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, lock: lock, sqliteDir: filepath.Join(dir, "sqlite"), indexed: map[string]bool{}, notes: map[string]int64{}, writes: make(chan struct{}, 1)}
	ok := false
	defer func() {
		if !ok {
			s.unlock()
		}
	}()
	if err := os.MkdirAll(s.sqliteDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: creating %s: %w", s.sqliteDir, err)
	}
	if s.socket, err = socketPath(dir); err != nil {
		return nil, err
	}
	// Only we can hold the lock, so a socket left here belongs to a process that died.
	if err := os.Remove(s.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("embedded: removing stale socket %s: %w", s.socket, err)
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sqliteURL := (&url.URL{
		Scheme:   "file",
		Opaque:   s.sqliteDir + "/",
		RawQuery: url.Values{"_pragma": {"synchronous(full)", "temp_store(memory)"}}.Encode(),
	}).String()
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: s.socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: starting FerretDB in %s: %w", dir, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = fdb.Run(runCtx)
	}()
	if err := waitForSocket(ctx, s.socket); err != nil {
		cancel()
		<-s.done
		return nil, err
	}
	if err := os.Chmod(s.socket, 0o600); err != nil {
		cancel()
		<-s.done
		return nil, fmt.Errorf("embedded: restricting socket: %w", err)
	}
	if err := s.restrictFiles(); err != nil { // those of an earlier run, or an earlier version
		cancel()
		<-s.done
		return nil, err
	}
	ok = true
	return s, nil
}

// URI is the MongoDB connection string for the server's socket.
func (s *Server) URI() string {
	return "mongodb://" + url.PathEscape(s.socket) + "/?directConnection=true"
}

// Dir is the directory the server was started on.
func (s *Server) Dir() string { return s.dir }

// Shutdown stops FerretDB, waits for it to close its files (or for ctx to end), and releases the lock.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("embedded: waiting for FerretDB to stop: %w", ctx.Err())
	}
	s.unlock()
	return nil
}

func (s *Server) unlock() {
	if s.lock == nil {
		return
	}
	_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
	_ = s.lock.Close()
	s.lock = nil
}

// LockDocument serialises, among everyone in this process using the server, the writes to the
// document named by key, and returns the function that releases it. FerretDB keeps neither atomic
// filtered updates nor concurrent read-modify-writes of one document apart, so compare-and-swap
// writes on the embedded store run as read, compare, replace under this lock; it lives here, with
// the server, so that every store handle opened on the server shares it. Never take a second
// document lock while holding one: take several at once with LockDocuments.
func (s *Server) LockDocument(key string) (unlock func()) { return s.docLocks.Lock(key) }

// LockDocuments is LockDocument for several documents at once.
func (s *Server) LockDocuments(keys ...string) (unlock func()) { return s.docLocks.LockAll(keys...) }

// LockUpkeep serialises, among everyone in this process using the server, one-time upkeep such as a
// data migration, and returns the function that releases it. Unlike LockDocument, the holder may
// take document locks meanwhile.
func (s *Server) LockUpkeep() (unlock func()) {
	s.upkeep.Lock()
	return s.upkeep.Unlock
}

// restrictFiles makes the files of the SQLite directory the process's own (0600): FerretDB creates
// a database's file on first use with SQLite's default mode, 0644 less the umask, and SQLite creates
// its -wal and -shm files with the mode of their database.
func (s *Server) restrictFiles() error {
	entries, err := os.ReadDir(s.sqliteDir)
	if err != nil {
		return fmt.Errorf("embedded: listing %s: %w", s.sqliteDir, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // a journal removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("embedded: %w", err)
		}
		if fi.Mode().Perm() == 0o600 {
			continue
		}
		if err := os.Chmod(filepath.Join(s.sqliteDir, e.Name()), 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("embedded: restricting %s: %w", e.Name(), err)
		}
	}
	return nil
}

// IndexIDs adds, to every collection table of database db that lacks it, the SQLite expression index
// on _ferretdb_sjson->'$._id' that FerretDB's own {_id} lookups can use. It is idempotent and cheap
// when nothing is missing; run it after creating collections.
//
// On a table of fewer than smallTable documents (every collection just created) FerretDB's own
// unique index, on _ferretdb_sjson->"_id", which none of its queries use, is made again on the
// expression they do use, under its own name, in one transaction: one unique index keeps _id
// unique (every compare-and-swap insert relies on it) and serves the lookups, so each inserted
// document updates one index instead of two, on a large collection a page rarely in the cache for
// each (docs/BENCHMARKS.md). A larger table keeps FerretDB's index and gets the store's beside it,
// since remaking a unique index means rebuilding it (5 s for a million documents), until
// MergeIDIndexes. At every moment at least one unique index on _id exists.
func (s *Server) IndexIDs(ctx context.Context, db string) error {
	conn, done, err := s.openSQLite(db)
	if err != nil {
		return err
	}
	defer done()
	tables, err := collectionTables(ctx, conn, db)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if s.indexed[db+"/"+t.name] {
			continue
		}
		if err := indexID(ctx, conn, t.name); err != nil {
			return fmt.Errorf("embedded: indexing _id of %s: %w", t.name, err)
		}
		s.indexed[db+"/"+t.name] = true
	}
	return nil
}

// openSQLite opens database db's SQLite file directly, beside FerretDB, holding s.mu until done
// (which closes it) is called.
func (s *Server) openSQLite(db string) (conn *sql.DB, done func(), err error) {
	s.mu.Lock()
	defer func() {
		if err != nil {
			s.mu.Unlock()
		}
	}()
	file := filepath.Join(s.sqliteDir, db+".sqlite")
	if _, err := os.Stat(file); err != nil {
		return nil, nil, fmt.Errorf("embedded: database %s has no file yet: %w", db, err)
	}
	// FerretDB has just created the file (SQLite creates databases 0644, less the umask); SQLite
	// gives its journal files the mode of their database, so restricting it now covers those to come.
	if err := s.restrictFiles(); err != nil {
		return nil, nil, err
	}
	conn, err = sql.Open("sqlite", (&url.URL{
		Scheme:   "file",
		Opaque:   file,
		RawQuery: url.Values{"_pragma": {"busy_timeout(10000)", "synchronous(full)"}}.Encode(),
	}).String())
	if err != nil {
		return nil, nil, fmt.Errorf("embedded: opening %s: %w", file, err)
	}
	return conn, func() { conn.Close(); s.mu.Unlock() }, nil
}

// collectionTable is a collection and the SQLite table FerretDB keeps it in.
type collectionTable struct {
	name, collection string
	docs             int64 // MergeIDIndexes's count
}

// collectionTables lists database db's collections, in name order.
func collectionTables(ctx context.Context, conn *sql.DB, db string) ([]collectionTable, error) {
	rows, err := conn.QueryContext(ctx, `SELECT table_name, name FROM "_ferretdb_collections" ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("embedded: listing collections of %s: %w", db, err)
	}
	defer rows.Close()
	var tables []collectionTable
	for rows.Next() {
		var t collectionTable
		if err := rows.Scan(&t.name, &t.collection); err != nil {
			return nil, fmt.Errorf("embedded: listing collections of %s: %w", db, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: listing collections of %s: %w", db, err)
	}
	return tables, nil
}

// smallTable is the most documents a table may hold for IndexIDs to rebuild its unique _id index
// at once, as MergeIDIndexes does (a few milliseconds), rather than keep two.
const smallTable = 1000

// indexID gives table t the index IndexIDs describes: FerretDB's <t>__id_ made unique on the
// expression FerretDB's queries spell, under the name FerretDB's metadata gives it (its collStats
// sums the sizes of the indexes it names), on a table of fewer than smallTable documents
// (mergeIDIndex); on a larger one the store's <t>_govhub_id beside FerretDB's.
func indexID(ctx context.Context, conn *sql.DB, t string) error {
	theirsSQL, err := indexSQL(ctx, conn, t+"__id_")
	if err != nil {
		return err
	}
	if theirsSQL != "" && !strings.Contains(theirsSQL, idExpr) {
		var small bool
		q := fmt.Sprintf(`SELECT count(*) < %d FROM (SELECT 1 FROM %q LIMIT %d)`, smallTable, t, smallTable)
		if err := conn.QueryRowContext(ctx, q).Scan(&small); err != nil {
			return err
		}
		if !small { // rebuilding FerretDB's index would take seconds: the store's goes beside it
			_, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, t+"_govhub_id", t, idExpr))
			return err
		}
	}
	_, err = mergeIDIndex(ctx, conn, t)
	return err
}

// idExpr is _id as FerretDB's queries spell it: an index must spell it so for SQLite to use it.
const idExpr = `_ferretdb_sjson->'$._id'`

// indexSQL is the SQL that made index name, or "" if there is none.
func indexSQL(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (string, error) {
	var s sql.NullString
	err := q.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s.String, err
}

// IDIndexMerge is what MergeIDIndexes did to one collection.
type IDIndexMerge struct {
	Collection string
	Documents  int64
	Merged     bool          // false: it had one _id index already
	Took       time.Duration // the rebuild
}

// MergeIDIndexes leaves every collection table of database db with the one unique _id index that
// IndexIDs gives a new collection, rebuilding it on the tables that hold documents and so kept two
// (FerretDB's, and the store's beside it): about 5 s for a million documents, during which no
// other connection writes. Each table's change (FerretDB's index dropped and made unique again on
// the expression its queries use, the store's dropped) is one SQLite transaction, so any other
// connection, and a crash, sees the two indexes or the one, never a table without a unique index
// on _id. It is idempotent. before, if not nil, is called before each table with the documents
// done so far and in all; each table's outcome is returned in collection order.
func (s *Server) MergeIDIndexes(ctx context.Context, db string, before func(done, total int64, next IDIndexMerge)) ([]IDIndexMerge, error) {
	conn, closeConn, err := s.openSQLite(db)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	tables, err := collectionTables(ctx, conn, db)
	if err != nil {
		return nil, err
	}
	var total int64
	for i, t := range tables {
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q`, t.name)).Scan(&tables[i].docs); err != nil {
			return nil, fmt.Errorf("embedded: counting %s: %w", t.collection, err)
		}
		total += tables[i].docs
	}
	var out []IDIndexMerge
	var done int64
	for _, t := range tables {
		m := IDIndexMerge{Collection: t.collection, Documents: t.docs}
		if before != nil {
			before(done, total, m)
		}
		start := time.Now()
		if m.Merged, err = mergeIDIndex(ctx, conn, t.name); err != nil {
			return out, fmt.Errorf("embedded: one _id index for %s: %w", t.collection, err)
		}
		if m.Merged {
			m.Took = time.Since(start)
		}
		done += t.docs
		out = append(out, m)
	}
	if before != nil {
		before(done, total, IDIndexMerge{})
	}
	return out, nil
}

// DoubleIDIndexes names the collections of database db that keep two _id indexes (tables that held
// smallTable documents or more when IndexIDs first ran), which MergeIDIndexes would leave with one.
func (s *Server) DoubleIDIndexes(ctx context.Context, db string) ([]string, error) {
	conn, done, err := s.openSQLite(db)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := conn.QueryContext(ctx, `SELECT c.name FROM "_ferretdb_collections" c JOIN sqlite_master m
		ON m.type = 'index' AND m.name = c.table_name || '_govhub_id' ORDER BY c.name`)
	if err != nil {
		return nil, fmt.Errorf("embedded: listing the indexes of %s: %w", db, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("embedded: listing the indexes of %s: %w", db, err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// mergeIDIndex leaves table t with FerretDB's index alone, unique on idExpr, in one transaction:
// made again if it is on another expression, made if it is missing (a run of an earlier version cut
// short between dropping and making it again), and the store's dropped. It reports whether it
// rebuilt FerretDB's index.
func mergeIDIndex(ctx context.Context, conn *sql.DB, t string) (bool, error) {
	ours, theirs := t+"_govhub_id", t+"__id_"
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	theirsSQL, err := indexSQL(ctx, tx, theirs)
	if err != nil {
		return false, err
	}
	rebuild := !strings.Contains(theirsSQL, idExpr)
	var qs []string
	if rebuild {
		qs = append(qs, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, theirs), fmt.Sprintf(`CREATE UNIQUE INDEX %q ON %q (%s)`, theirs, t, idExpr))
	}
	for _, q := range append(qs, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, ours)) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, err
		}
	}
	return rebuild, tx.Commit()
}

// Attach returns the URI of the database another process runs on dir (one that holds its lock),
// for a second process that only reads: it must never write through it, since the owner keeps
// writers apart by locks inside its own process (LockDocument). It fails with an error wrapping
// os.ErrNotExist when no process holds dir.
func Attach(dir string) (uri string, pid string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("embedded: resolving %s: %w", dir, err)
	}
	pid, held, err := holder(dir)
	if err != nil {
		return "", "", err
	}
	if !held {
		return "", "", fmt.Errorf("embedded: no process serves %s: %w", dir, os.ErrNotExist)
	}
	socket, err := socketPath(dir)
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(socket); err != nil {
		return "", "", fmt.Errorf("embedded: the database of pid %s on %s has no socket (yet): %w", pid, dir, err)
	}
	return "mongodb://" + url.PathEscape(socket) + "/?directConnection=true", pid, nil
}

// holder reports whether a process holds the lock of dir, and its pid as recorded in the lock file.
func holder(dir string) (pid string, held bool, err error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("embedded: opening lock file: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		b, _ := os.ReadFile(path)
		return strings.TrimSpace(string(b)), true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("embedded: probing %s: %w", path, err)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return "", false, nil
}

// lockDir takes the exclusive lock on dir/LOCK and records our pid in it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded: opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w: %s is locked by pid %s (stop that hub, or use another --data-dir)", ErrLocked, dir, pid)
		}
		return nil, fmt.Errorf("embedded: locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// socketPath picks <dir>/mongod.sock, or a private directory under the system temp dir, named after
// dir, when the full path would be too long for a Unix socket.
func socketPath(dir string) (string, error) {
	p := filepath.Join(dir, "mongod.sock")
	if len(p) <= maxSocketPath {
		return p, nil
	}
	sum := sha256.Sum256([]byte(dir))
	short := filepath.Join(os.TempDir(), "govhub-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(short, 0o700); err != nil {
		return "", fmt.Errorf("embedded: creating socket directory %s: %w", short, err)
	}
	if fi, err := os.Lstat(short); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 ||
		fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
		return "", fmt.Errorf("embedded: socket directory %s is not a private directory of ours", short)
	}
	return filepath.Join(short, "mongod.sock"), nil
}

func waitForSocket(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded: FerretDB did not open %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
