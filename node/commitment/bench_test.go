package commitment

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// The benchmark state: 1,000,000 rows shaped like the node's, 900,000
// credentials keyed by a UUID and 100,000 kv entries (10,000 owners × 10
// keys), with random value hashes.
const (
	benchCreds  = 900_000
	benchOwners = 10_000
	benchPerOwn = 10
)

type benchState struct {
	store *MemStore
	root  Hash
	keys  [][]byte // every key, for picking present keys
	build time.Duration
}

var (
	benchOnce sync.Once
	bench1M   *benchState
)

func uuidKey(r *rand.Rand) []byte {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	k, err := Key("idos_credentials", []any{id})
	if err != nil {
		panic(err)
	}
	return k
}

func kvKey(owner, i int) []byte {
	k, err := Key("kv", []any{fmt.Sprintf("ed25519:%064x", owner), fmt.Sprintf("key-%d", i)})
	if err != nil {
		panic(err)
	}
	return k
}

func kvOwnerPrefix(owner int) []byte {
	k, err := Key("kv", []any{fmt.Sprintf("ed25519:%064x", owner)})
	if err != nil {
		panic(err)
	}
	return k
}

func getBench(b *testing.B) *benchState {
	benchOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 1_000_000))
		s := &benchState{store: NewMemStore()}
		ups := make([]Update, 0, benchCreds+benchOwners*benchPerOwn)
		for range benchCreds {
			ups = append(ups, Put(uuidKey(r), randHash(r)))
		}
		for o := range benchOwners {
			for i := range benchPerOwn {
				ups = append(ups, Put(kvKey(o, i), randHash(r)))
			}
		}
		for _, u := range ups {
			s.keys = append(s.keys, u.Key)
		}
		start := time.Now()
		root, _, err := NewTree(s.store).Apply(EmptyRoot, ups)
		if err != nil {
			panic(err)
		}
		s.root, s.build = root, time.Since(start)
		bench1M = s
	})
	b.Logf("1M-row tree: built in one batch in %v, %d nodes", bench1M.build.Round(time.Millisecond), bench1M.store.Len())
	return bench1M
}

// overlay reads through to the shared base tree and keeps its own writes,
// so a benchmark can update and prune without touching the base.
type overlay struct {
	base  *MemStore
	nodes map[Hash][]byte
}

func (o *overlay) Get(hash []byte) ([]byte, error) {
	if b, ok := o.nodes[Hash(hash)]; ok {
		return b, nil
	}
	return o.base.Get(hash)
}

func (o *overlay) Put(hash, node []byte) error {
	o.nodes[Hash(hash)] = node
	return nil
}

// BenchmarkApply1M: batches of 1,000 updates (500 changed rows, 250 new rows,
// 250 deleted rows) on the 1,000,000-row tree, orphans pruned after each
// batch. Reports leaf updates per second.
func BenchmarkApply1M(b *testing.B) {
	s := getBench(b)
	o := &overlay{base: s.store, nodes: map[Hash][]byte{}}
	tr := NewTree(o)
	keys := append([][]byte(nil), s.keys...)
	r := rand.New(rand.NewPCG(2, 2))
	root := s.root
	const batch = 1000
	ups := make([]Update, 0, batch)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ups = ups[:0]
		used := map[int]bool{}
		pick := func() int {
			for {
				i := r.IntN(len(keys))
				if !used[i] {
					used[i] = true
					return i
				}
			}
		}
		for range 500 {
			ups = append(ups, Put(keys[pick()], randHash(r)))
		}
		var del []int
		for range 250 {
			i := pick()
			ups = append(ups, Del(keys[i]))
			del = append(del, i)
		}
		for _, i := range del { // the new rows take the deleted rows' places
			k := uuidKey(r)
			ups = append(ups, Put(k, randHash(r)))
			keys[i] = k
		}
		b.StartTimer()
		newRoot, orphans, err := tr.Apply(root, ups)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range orphans {
			delete(o.nodes, h)
		}
		root = newRoot
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "leaf-updates/s")
}

// BenchmarkMembership1M: proving and verifying one row of the
// 1,000,000-row tree. Reports the proof's encoded size.
func BenchmarkMembership1M(b *testing.B) {
	s := getBench(b)
	tr := NewTree(s.store)
	r := rand.New(rand.NewPCG(3, 3))
	const n = 1024
	type pr struct {
		key   []byte
		vh    Hash
		proof Proof
	}
	ps := make([]pr, n)
	size, maxSize := 0, 0
	for i := range ps {
		k := s.keys[r.IntN(len(s.keys))]
		p, vh, found, err := tr.Prove(s.root, k)
		if err != nil || !found {
			b.Fatal(found, err)
		}
		ps[i] = pr{k, vh, p}
		l := len(p.Encode())
		size += l
		maxSize = max(maxSize, l)
	}
	b.Run("verify", func(b *testing.B) {
		for i := range b.N {
			p := &ps[i%n]
			if err := VerifyMembership(s.root, p.key, p.vh, p.proof); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/n, "proof-bytes")
		b.ReportMetric(float64(maxSize), "max-proof-bytes")
	})
	b.Run("prove", func(b *testing.B) {
		for i := range b.N {
			if _, _, _, err := tr.Prove(s.root, ps[i%n].key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify-non-membership", func(b *testing.B) {
		absent := make([]Proof, n)
		keys := make([][]byte, n)
		size := 0
		for i := range absent {
			keys[i] = uuidKey(r)
			p, _, _, err := tr.Prove(s.root, keys[i])
			if err != nil {
				b.Fatal(err)
			}
			absent[i] = p
			size += len(p.Encode())
		}
		b.ResetTimer()
		for i := range b.N {
			if err := VerifyNonMembership(s.root, keys[i%n], absent[i%n]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/n, "proof-bytes")
	})
}

// BenchmarkRange1M: all 10 kv entries of one owner, proven complete in the
// 1,000,000-row tree. Reports the proof size and the verify time per row.
func BenchmarkRange1M(b *testing.B) {
	s := getBench(b)
	tr := NewTree(s.store)
	const n = 256
	prefixes := make([][]byte, n)
	entries := make([][]Entry, n)
	proofs := make([]Proof, n)
	size, rows := 0, 0
	for i := range n {
		prefixes[i] = kvOwnerPrefix(i * (benchOwners / n))
		es, p, err := tr.ProveRange(s.root, prefixes[i])
		if err != nil || len(es) != benchPerOwn {
			b.Fatal(len(es), err)
		}
		entries[i], proofs[i] = es, p
		size += len(p.Encode())
		for _, e := range es {
			size += len(e.Key) + len(e.ValueHash) // what the client receives besides the proof
		}
		rows += len(es)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := VerifyRange(s.root, prefixes[i%n], entries[i%n], proofs[i%n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPerOwn), "verify-ns/row")
	b.ReportMetric(float64(size)/float64(rows), "bytes/row")
}
