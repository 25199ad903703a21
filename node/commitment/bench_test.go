package commitment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
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
	trie    *Trie
	sorted  []Entry  // the 1M entries in key order, as the leaf table holds them
	keys    [][]byte // every key, for picking present keys
	build   time.Duration
	trieMiB float64 // live heap the trie adds to its entries
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
		s := &benchState{}
		entries := make([]Entry, 0, benchCreds+benchOwners*benchPerOwn)
		for range benchCreds {
			entries = append(entries, Entry{Key: uuidKey(r), ValueHash: randHash(r)})
		}
		for o := range benchOwners {
			for i := range benchPerOwn {
				entries = append(entries, Entry{Key: kvKey(o, i), ValueHash: randHash(r)})
			}
		}
		for _, e := range entries {
			s.keys = append(s.keys, e.Key)
		}
		slices.SortFunc(entries, func(a, b Entry) int { return bytes.Compare(a.Key, b.Key) })
		s.sorted = entries
		before := liveHeap()
		start := time.Now()
		tr, err := Build(entries)
		if err != nil {
			panic(err)
		}
		s.trie, s.build = tr, time.Since(start)
		s.trieMiB = float64(liveHeap()-before) / (1 << 20)
		bench1M = s
	})
	b.Logf("1M-row trie: Build in %v, %.0f MiB of heap for its %d nodes", bench1M.build.Round(time.Millisecond), bench1M.trieMiB, 2*bench1M.trie.Len()-1)
	return bench1M
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBuild1M: the startup rebuild of the 1,000,000-row trie from its
// sorted leaves.
func BenchmarkBuild1M(b *testing.B) {
	s := getBench(b)
	b.ResetTimer()
	for range b.N {
		tr, err := Build(s.sorted)
		if err != nil {
			b.Fatal(err)
		}
		if tr.Root() != s.trie.Root() {
			b.Fatalf("rebuilt root %x, want %x", tr.Root(), s.trie.Root())
		}
	}
	b.ReportMetric(float64(len(s.sorted))/(b.Elapsed().Seconds()/float64(b.N)), "leaves/s")
}

// BenchmarkApply1M: batches of random updates on the 1,000,000-row trie,
// half of them changed values of present rows, a quarter deletes of present
// rows and a quarter new rows. Each batch is applied to the version the
// previous one made, and the old version is dropped, as the node does when
// it keeps only recent versions (so the garbage collector's work is in the
// timing). Reports leaf updates per second of wall time, and per second of
// process CPU time (all threads, so the collector's background work counts),
// which stays comparable when other processes share the cores.
func BenchmarkApply1M(b *testing.B) {
	for _, batch := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := getBench(b)
			keys := slices.Clone(s.keys)
			r := rand.New(rand.NewPCG(2, uint64(batch)))
			tr := s.trie
			ups := make([]Update, 0, batch)
			used := make(map[int]bool, batch)
			var cpu time.Duration // process CPU time spent in Apply
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				ups = ups[:0]
				clear(used)
				pick := func() int {
					for {
						i := r.IntN(len(keys))
						if !used[i] {
							used[i] = true
							return i
						}
					}
				}
				for range batch / 2 {
					ups = append(ups, Put(keys[pick()], randHash(r)))
				}
				var del []int
				for range batch / 4 {
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
				c0 := cpuTime()
				next, err := tr.Apply(ups)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				tr = next
			}
			b.StopTimer()
			if tr.Len() != len(keys) {
				b.Fatalf("Len %d, want %d", tr.Len(), len(keys))
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "updates/s")
			if cpu > 0 {
				b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "updates/cpu-s")
			}
		})
	}
}

// BenchmarkMembership1M: proving and verifying one row of the
// 1,000,000-row tree. Reports the proof's encoded size.
func BenchmarkMembership1M(b *testing.B) {
	s := getBench(b)
	tr := s.trie
	root := tr.Root()
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
		p, vh, found, err := tr.Prove(k)
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
			if err := VerifyMembership(root, p.key, p.vh, p.proof); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/n, "proof-bytes")
		b.ReportMetric(float64(maxSize), "max-proof-bytes")
	})
	b.Run("prove", func(b *testing.B) {
		for i := range b.N {
			if _, _, _, err := tr.Prove(ps[i%n].key); err != nil {
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
			p, _, _, err := tr.Prove(keys[i])
			if err != nil {
				b.Fatal(err)
			}
			absent[i] = p
			size += len(p.Encode())
		}
		b.ResetTimer()
		for i := range b.N {
			if err := VerifyNonMembership(root, keys[i%n], absent[i%n]); err != nil {
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
	tr := s.trie
	root := tr.Root()
	const n = 256
	prefixes := make([][]byte, n)
	entries := make([][]Entry, n)
	proofs := make([]Proof, n)
	size, rows := 0, 0
	for i := range n {
		prefixes[i] = kvOwnerPrefix(i * (benchOwners / n))
		es, p, err := tr.ProveRange(prefixes[i])
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
		if err := VerifyRange(root, prefixes[i%n], entries[i%n], proofs[i%n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPerOwn), "verify-ns/row")
	b.ReportMetric(float64(size)/float64(rows), "bytes/row")
}
