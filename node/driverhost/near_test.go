package driverhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/observation"
)

const (
	nearChainID  = "near:testnet"
	nearContract = "idos-dev-4.testnet"
	nearSession  = "../../wasmdrivers/near/testdata/session"
)

var (
	nearOwner, nearOwner2 = nearKey("owner"), nearKey("zero")
	nearG1, nearG2        = nearKey("grantee1"), nearKey("grantee2")
	accOwner, accOwner2   = nearAccount("owner"), nearAccount("zero")
	accG1, accG2          = nearAccount("grantee1"), nearAccount("grantee2")
)

// sessionChain is the chain of the committed NEAR session: grant A
// inserted at 102, B at 106, A deleted at 110, C (locked until 2026-01-01
// in nanoseconds, its owner's key starting with a zero byte) at 111 in a receipt that also logs a plain line and
// another standard's event; 107 has a receipt without logs; no block at
// height 104.
func sessionChain() *nearChain {
	return newNearChain(nearContract, 100, 114, map[uint64]bool{104: true}, map[uint64][]nearReceipt{
		102: {{nearHash("receipt A"), []string{grantLog("grant_inserted", nearOwner, nearG1, "data-a", 0)}}},
		106: {{nearHash("receipt B"), []string{grantLog("grant_inserted", nearOwner, nearG2, "data-b", 0)}}},
		107: {{nearHash("receipt noop"), nil}},
		110: {{nearHash("receipt del A"), []string{grantLog("grant_deleted", nearOwner, nearG1, "data-a", 0)}}},
		111: {{nearHash("receipt C"), []string{"hello from the contract",
			`EVENT_JSON:{"standard":"nep171","version":"1.0.0","event":"nft_mint","data":[{"owner_id":"x.testnet","token_ids":["1"]}]}`,
			grantLog("grant_inserted", nearOwner2, nearG1, "data-c", 1767225600000000000)}}},
	})
}

// nearStages are the session's polls: the node's (optimistic head, final
// block) before each.
var nearStages = [][2]uint64{{102, 100}, {109, 105}, {112, 110}, {114, 113}, {114, 113}}

func nearWant(c *nearChain) [][]observation.Grant {
	at := func(kind observation.Kind, h uint64, receipt string, log int, owner, grantee, data, locked string) observation.Grant {
		b := c.at(h)
		return observation.Grant{Kind: kind, Chain: nearChainID, Contract: nearContract, Owner: owner, Grantee: grantee,
			DataID: data, LockedUntil: locked, BlockNumber: h, BlockHash: b.hash, TxRef: nearHash(receipt) + ":" + string(rune('0'+log))}
	}
	return [][]observation.Grant{
		nil,
		{at(observation.Added, 102, "receipt A", 0, accOwner, accG1, "data-a", "0")},
		{at(observation.Added, 106, "receipt B", 0, accOwner, accG2, "data-b", "0")},
		{at(observation.Deleted, 110, "receipt del A", 0, accOwner, accG1, "data-a", "0"),
			at(observation.Added, 111, "receipt C", 2, accOwner2, accG1, "data-c", "1767225600000000000")},
		nil,
	}
}

func loadNEAR(t testing.TB, rt *Runtime, endpoints []string) *Driver {
	return loadNEARTransport(t, rt, endpoints, nil)
}

func loadNEARTransport(t testing.TB, rt *Runtime, endpoints []string, tr Transport) *Driver {
	t.Helper()
	wasm, err := os.ReadFile("../../wasmdrivers/near/near.wasm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), rt, wasm, Config{Chain: nearChainID, Contract: nearContract, Endpoints: endpoints, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// rawCall posts one JSON-RPC request and returns the response body.
func rawCall(t *testing.T, url, method string, params any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	out, err := HTTPTransport(nil)(context.Background(), url, body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNEARRecord runs the session against the NEAR chain model through a
// Recorder and requires the committed fixtures to be what it records
// (IDOS_RECORD_FIXTURES=1 rewrites them). The session's assertions are
// TestNEARDriver's, on the recording.
func TestNEARRecord(t *testing.T) {
	c := sessionChain()
	srv := httptest.NewServer(c)
	defer srv.Close()
	rec := &Recorder{Next: HTTPTransport(nil)}
	wasm, err := os.ReadFile("../../wasmdrivers/near/near.wasm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), newRuntime(t, false), wasm, Config{Chain: nearChainID, Contract: nearContract,
		Endpoints: []string{srv.URL}, Transport: rec.Transport})
	if err != nil {
		t.Fatal(err)
	}
	var cur []byte
	for i, st := range nearStages {
		c.set(st[0], st[1])
		if i == 1 {
			// Recorded for TestNEARDriver: grant B is at the optimistic head.
			for _, q := range []struct {
				m string
				p any
			}{{"block", map[string]any{"finality": "optimistic"}},
				{"EXPERIMENTAL_changes", map[string]any{"changes_type": "data_changes", "account_ids": []string{nearContract},
					"key_prefix_base64": "U1RBVEU=", "block_id": c.at(106).hash}}} {
				body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": q.m, "params": q.p})
				if _, err := rec.Transport(context.Background(), srv.URL, body); err != nil {
					t.Fatal(err)
				}
			}
		}
		var obs []observation.Grant
		obs, cur = poll(t, d, cur)
		if want := nearWant(c)[i]; !slices.Equal(obs, want) {
			t.Fatalf("poll %d:\n got %+v\nwant %+v", i, obs, want)
		}
	}
	dir := t.TempDir()
	if err := rec.Save(dir); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("IDOS_RECORD_FIXTURES") != "" {
		if err := rec.Save(nearSession); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, FixtureFile))
	want, err := os.ReadFile(filepath.Join(nearSession, FixtureFile))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the committed session differs from the model's (%v): rerun with IDOS_RECORD_FIXTURES=1", err)
	}
}

// TestNEARDriver polls the committed NEAR driver against the recorded
// server (no NEAR node can run here: see nearChain), with two endpoints so
// that what is read at final blocks is cross-checked, on both engines: grant
// B is in a block at the optimistic head but not final and is not observed
// until a later poll; A's deletion is observed; a log that is no event of
// the contract is ignored; a poll with nothing new keeps its cursor.
func TestNEARDriver(t *testing.T) {
	c := sessionChain()
	want := nearWant(c)
	var all [2][]observation.Grant
	for e, interp := range []bool{false, true} {
		a, b := replayServer(t, nearSession), replayServer(t, nearSession)
		d := loadNEAR(t, newRuntime(t, interp), []string{a, b})
		if m := d.Metadata(); m.Family != "near" || m.Finality != FinalityTag {
			t.Fatalf("metadata %+v", m)
		}
		var cur []byte
		for i := range nearStages {
			if i == 1 {
				head := rawCall(t, a, "block", map[string]any{"finality": "optimistic"})
				ch := rawCall(t, a, "EXPERIMENTAL_changes", map[string]any{"changes_type": "data_changes",
					"account_ids": []string{nearContract}, "key_prefix_base64": "U1RBVEU=", "block_id": c.at(106).hash})
				if h := head["result"].(map[string]any)["header"].(map[string]any)["height"]; h != float64(109) ||
					!strings.Contains(mustJSON(ch), nearHash("receipt B")) {
					t.Fatalf("B not at the optimistic head: head %v, changes %v", h, ch)
				}
			}
			obs, next := poll(t, d, cur)
			if !slices.Equal(obs, want[i]) {
				t.Fatalf("interpreter=%v poll %d:\n got %+v\nwant %+v", interp, i, obs, want[i])
			}
			if i == len(nearStages)-1 && !bytes.Equal(next, cur) {
				t.Fatalf("nothing new, cursor %s → %s", cur, next)
			}
			all[e] = append(all[e], obs...)
			cur = next
		}
		// The recording is over: the server answers 404, the poll fails
		// and reports nothing.
		if obs, next, err := d.Poll(context.Background(), cur); !errors.Is(err, ErrEndpoint) || obs != nil || next != nil {
			t.Fatalf("past the recording: %v %s %v", obs, next, err)
		}
	}
	if !slices.Equal(all[0], all[1]) || len(all[0]) != 4 {
		t.Fatalf("engines differ: %+v\n%+v", all[0], all[1])
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestNEARRestartAndCatchUp: a fresh driver from a saved cursor reports
// what followed it; far behind, a poll reads at most 16 blocks and the
// next ones go on from its cursor (against the model, live).
func TestNEARRestartAndCatchUp(t *testing.T) {
	c := sessionChain()
	c.set(114, 113)
	srv := httptest.NewServer(c)
	defer srv.Close()
	rt := newRuntime(t, false)
	d := loadNEAR(t, rt, []string{srv.URL})
	b103 := c.at(103)
	cur, _ := json.Marshal(map[string]any{"height": 103, "hash": b103.hash})
	want := nearWant(c)
	if obs, _ := poll(t, d, cur); !slices.Equal(obs, append(want[2], want[3]...)) {
		t.Fatalf("restart from 103: %+v", obs)
	}
	long := newNearChain(nearContract, 100, 160, nil, map[uint64][]nearReceipt{
		150: {{nearHash("late"), []string{grantLog("grant_inserted", nearOwner, nearG2, "data-late", 5)}}}})
	srv2 := httptest.NewServer(long)
	defer srv2.Close()
	d = loadNEAR(t, rt, []string{srv2.URL})
	cur, _ = json.Marshal(map[string]any{"height": 100, "hash": long.at(100).hash})
	var got []observation.Grant
	for want := range []uint64{116, 132, 148, 158, 158} {
		obs, next := poll(t, d, cur)
		var cc struct{ Height uint64 }
		_ = json.Unmarshal(next, &cc)
		if h := []uint64{116, 132, 148, 158, 158}[want]; cc.Height != h {
			t.Fatalf("poll %d: cursor %s, want height %d", want, next, h)
		}
		got, cur = append(got, obs...), next
	}
	if len(got) != 1 || got[0].DataID != "data-late" || got[0].Grantee != accG2 || got[0].BlockNumber != 150 || got[0].LockedUntil != "5" {
		t.Fatalf("caught up: %+v", got)
	}
}

// TestNEARMalformed: each answer of the recorded session made malformed
// (or lying) fails the poll that reads it with ErrDriver and no
// observation; the session unchanged passes (the control).
func TestNEARMalformed(t *testing.T) {
	var fx []Fixture
	b, err := os.ReadFile(filepath.Join(nearSession, FixtureFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	c := sessionChain()
	rA, b102 := nearHash("receipt A"), c.at(102).hash
	rt := newRuntime(t, false)
	outer := t // drivers closed at its end: wazero reuses the compiled code
	for _, tc := range []struct {
		name, method, param string
		edit                func(string) string
	}{
		{"control", "", "", nil},
		{"final block not an object", "block", `"finality":"final"`, func(string) string { return `"oops"` }},
		{"walk answers another block", "block", `"block_id":"` + b102, func(s string) string {
			return strings.Replace(s, b102, nearHash("forged"), 1)
		}},
		{"changes of another block", "EXPERIMENTAL_changes", b102, func(s string) string {
			return strings.Replace(s, b102, nearHash("forged"), 1)
		}},
		{"truncated event", "EXPERIMENTAL_light_client_proof", rA, func(s string) string {
			return strings.Replace(s, `,\"data\":`, `,\"data`, 1)
		}},
		{"negative lock", "EXPERIMENTAL_light_client_proof", rA, func(s string) string {
			return strings.Replace(s, `\"locked_until\":0`, `\"locked_until\":-1`, 1)
		}},
		{"owner not a key", "EXPERIMENTAL_light_client_proof", rA, func(s string) string {
			return strings.Replace(s, `\"owner\":\"ed25519:`, `\"owner\":\"0x`, 1)
		}},
		{"another executor", "EXPERIMENTAL_light_client_proof", rA, func(s string) string {
			return strings.Replace(s, `"executor_id":"`+nearContract, `"executor_id":"evil.testnet`, 1)
		}},
		{"failed receipt", "EXPERIMENTAL_light_client_proof", rA, func(s string) string {
			return strings.Replace(s, `{"SuccessValue":""}`, `{"Failure":{"ActionError":{}}}`, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := slices.Clone(fx)
			n := 0
			for i, f := range edited {
				if tc.edit != nil && f.Method == tc.method && strings.Contains(string(compact(f.Params)), tc.param) {
					out := tc.edit(string(compact(f.Result)))
					if out == string(compact(f.Result)) {
						t.Fatal("edit changed nothing")
					}
					edited[i].Result, n = json.RawMessage(out), n+1
				}
			}
			if tc.edit != nil && n == 0 {
				t.Fatal("no fixture to edit")
			}
			dir := t.TempDir()
			b, _ := json.Marshal(edited)
			if err := os.WriteFile(filepath.Join(dir, FixtureFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
			d := loadNEAR(outer, rt, []string{replayServer(t, dir)})
			failAt := 1 // the poll that reads blocks 101..103
			if tc.param == `"finality":"final"` {
				failAt = 0
			}
			var cur []byte
			for i := range 2 {
				obs, next, err := d.Poll(context.Background(), cur)
				if tc.edit == nil || i < failAt {
					if err != nil || !slices.Equal(obs, nearWant(c)[i]) {
						t.Fatalf("poll %d: %+v %v", i, obs, err)
					}
					cur = next
					continue
				}
				if !errors.Is(err, ErrDriver) || obs != nil || next != nil {
					t.Fatalf("poll %d: %+v %q %v, want ErrDriver", i, obs, next, err)
				}
				t.Logf("poll %d: %v", i, err)
				return
			}
			if tc.edit != nil {
				t.Fatal("no poll failed")
			}
		})
	}
}

// TestNEARBusyBlock: a block with 50 receipts of the contract does not fit
// in a poll after a 16-block walk; the poll returns a cursor that reads it
// alone, and the next poll reports all 50.
func TestNEARBusyBlock(t *testing.T) {
	var rs []nearReceipt
	for i := range 50 {
		rs = append(rs, nearReceipt{nearHash(fmt.Sprint("busy ", i)), []string{grantLog("grant_inserted", nearOwner, nearG1, fmt.Sprint("data-", i), 0)}})
	}
	c := newNearChain(nearContract, 100, 130, nil, map[uint64][]nearReceipt{101: rs})
	srv := httptest.NewServer(c)
	defer srv.Close()
	d := loadNEAR(t, newRuntime(t, false), []string{srv.URL})
	cur, _ := json.Marshal(map[string]any{"height": 100, "hash": c.at(100).hash})
	obs, next := poll(t, d, cur)
	if want := `{"height":100,"hash":"` + c.at(100).hash + `","span":1}`; len(obs) != 0 || string(next) != want {
		t.Fatalf("first poll: %d observations, cursor %s, want %s", len(obs), next, want)
	}
	obs, next = poll(t, d, next)
	if len(obs) != 50 || obs[49].DataID != "data-49" || !strings.HasPrefix(string(next), `{"height":101,`) {
		t.Fatalf("second poll: %d observations, cursor %s", len(obs), next)
	}
}
