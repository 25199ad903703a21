// Package snapstore keeps a node's state-sync snapshots on disk: one
// directory per height under the node's home, each holding the metadata and
// the chunks exactly as they are served (docs/spec/snapshots.md). A
// snapshot appears whole or not at all: it is written under a temporary
// name and renamed into place.
package snapstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/idos-network/idos-node/node/snapshot"
)

// ErrNotFound is returned for a snapshot or chunk the store does not hold.
var ErrNotFound = errors.New("snapstore: no such snapshot or chunk")

const (
	metadataFile = "metadata"
	tmpPrefix    = ".tmp-"
)

// Store is a directory of snapshots. Its methods are safe for concurrent use.
type Store struct {
	dir string
	mu  sync.Mutex
}

// Open returns the store in dir, creating it, and removes snapshots a crash
// left half-written.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("snapstore: %w", err)
			}
		}
	}
	return &Store{dir: dir}, nil
}

// Writer receives the chunks of one snapshot in order.
type Writer struct {
	s      *Store
	height int64
	tmp    string
	n      uint32
}

// Create starts a snapshot of height.
func (s *Store) Create(height int64) (*Writer, error) {
	tmp := filepath.Join(s.dir, tmpPrefix+strconv.FormatInt(height, 10))
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	return &Writer{s: s, height: height, tmp: tmp}, nil
}

func chunkName(i uint32) string { return fmt.Sprintf("chunk-%06d", i) }

// Chunk writes the next chunk.
func (w *Writer) Chunk(data []byte) error {
	if err := writeSynced(filepath.Join(w.tmp, chunkName(w.n)), data); err != nil {
		return err
	}
	w.n++
	return nil
}

// Finish writes the metadata and moves the snapshot into place.
func (w *Writer) Finish(metadata []byte) error {
	if err := writeSynced(filepath.Join(w.tmp, metadataFile), metadata); err != nil {
		return err
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	final := filepath.Join(w.s.dir, strconv.FormatInt(w.height, 10))
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("snapstore: %w", err)
	}
	if err := os.Rename(w.tmp, final); err != nil {
		return fmt.Errorf("snapstore: %w", err)
	}
	return syncDir(w.s.dir)
}

// Abort discards an unfinished snapshot.
func (w *Writer) Abort() { _ = os.RemoveAll(w.tmp) }

// Heights lists the finished snapshots, oldest first.
func (s *Store) Heights() ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heights()
}

func (s *Store) heights() ([]int64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	var hs []int64
	for _, e := range ents {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() && h > 0 {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	return hs, nil
}

// Metadata returns the decoded metadata of the snapshot of height.
func (s *Store) Metadata(height int64) (*snapshot.Metadata, []byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, strconv.FormatInt(height, 10), metadataFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: height %d", ErrNotFound, height)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("snapstore: %w", err)
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		return nil, nil, fmt.Errorf("snapstore: snapshot %d: %w", height, err)
	}
	return m, b, nil
}

// Chunk returns chunk index of the snapshot of height.
func (s *Store) Chunk(height int64, index uint32) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, strconv.FormatInt(height, 10), chunkName(index)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: height %d chunk %d", ErrNotFound, height, index)
	}
	if err != nil {
		return nil, fmt.Errorf("snapstore: %w", err)
	}
	return b, nil
}

// Prune deletes all but the newest keep snapshots and returns the height
// of the oldest kept (0: none).
func (s *Store) Prune(keep int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hs, err := s.heights()
	if err != nil {
		return 0, err
	}
	for len(hs) > keep && len(hs) > 0 {
		if err := os.RemoveAll(filepath.Join(s.dir, strconv.FormatInt(hs[0], 10))); err != nil {
			return 0, fmt.Errorf("snapstore: %w", err)
		}
		hs = hs[1:]
	}
	if len(hs) == 0 {
		return 0, nil
	}
	return hs[0], nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("snapstore: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("snapstore: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapstore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("snapstore: sync %s: %w", dir, err)
	}
	return nil
}
