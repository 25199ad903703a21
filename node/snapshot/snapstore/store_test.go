package snapstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idos-network/idos-node/node/snapshot"
	"github.com/idos-network/idos-node/node/snapshot/snapstore"
)

func metadata(h int64) []byte {
	m := snapshot.Metadata{Height: h, Chunks: []snapshot.ChunkInfo{{First: []byte("a"), Last: []byte("b")}}}
	return m.Encode()
}

// TestStore: snapshots appear whole at Finish, are listed oldest first,
// pruned to the newest kept, and half-written ones are gone at Open.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := snapstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []int64{10, 20, 30} {
		w, err := s.Create(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Chunk([]byte{byte(h)}); err != nil {
			t.Fatal(err)
		}
		if hs, _ := s.Heights(); slices.Contains(hs, h) {
			t.Fatalf("height %d listed before Finish", h)
		}
		if err := w.Finish(metadata(h)); err != nil {
			t.Fatal(err)
		}
	}
	if hs, err := s.Heights(); err != nil || !slices.Equal(hs, []int64{10, 20, 30}) {
		t.Fatalf("heights %v %v", hs, err)
	}
	m, raw, err := s.Metadata(20)
	if err != nil || m.Height != 20 || !bytes.Equal(raw, metadata(20)) {
		t.Fatalf("metadata: %v %v", m, err)
	}
	if c, err := s.Chunk(20, 0); err != nil || !bytes.Equal(c, []byte{20}) {
		t.Fatalf("chunk: %x %v", c, err)
	}
	if _, err := s.Chunk(20, 1); !errors.Is(err, snapstore.ErrNotFound) {
		t.Fatalf("missing chunk: %v", err)
	}
	oldest, err := s.Prune(2)
	if err != nil || oldest != 20 {
		t.Fatalf("prune: oldest %d %v", oldest, err)
	}
	if _, _, err := s.Metadata(10); !errors.Is(err, snapstore.ErrNotFound) {
		t.Fatalf("pruned snapshot: %v", err)
	}

	// A crash while writing leaves a temporary directory; Open removes it.
	w, err := s.Create(40)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Chunk([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := snapstore.Open(dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"20", "30"}) {
		t.Fatalf("after reopening: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "20", "metadata")); err != nil {
		t.Fatal(err)
	}
}
