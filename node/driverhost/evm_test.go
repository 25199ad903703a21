package driverhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/idos-network/idos-node/internal/evmchain"
	"github.com/idos-network/idos-node/node/observation"
)

// chain is a real go-ethereum node serving HTTP JSON-RPC on loopback with
// the grant contract deployed (internal/evmchain).
type chain = evmchain.Chain

func newChain(t testing.TB) *chain { return evmchain.New(t, nil) }

func loadEVM(t testing.TB, rt *Runtime, c *chain, endpoints []string, tr Transport) *Driver {
	t.Helper()
	wasm, err := os.ReadFile("../../wasmdrivers/evm/evm.wasm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), rt, wasm, Config{Chain: "eip155:1337", Contract: c.ContractHex(),
		Confirmations: 3, Endpoints: endpoints, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func newRuntime(t testing.TB, interp bool) *Runtime {
	t.Helper()
	rt, err := NewRuntime(context.Background(), RuntimeConfig{Interpreter: interp, CacheDir: testCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func poll(t *testing.T, d *Driver, cursor []byte) ([]observation.Grant, []byte) {
	t.Helper()
	obs, next, err := d.Poll(context.Background(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	return obs, next
}

// TestEVMDriver runs the committed EVM driver against a real geth node:
// a grant is observed only once 3 blocks are built on it, with its block's
// number and hash; its deletion likewise; a cursor from an earlier poll
// replays the same observations in a fresh driver; and fixtures recorded
// from the node replay offline to the same observations.
func TestEVMDriver(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	rt := newRuntime(t, false)
	rec := &Recorder{Next: HTTPTransport(nil)}
	// Two endpoints (the same node twice): cross-checked calls go to both.
	d := loadEVM(t, rt, c, []string{c.URL, c.URL + "/"}, rec.Transport)
	if m := d.Metadata(); m.Family != "evm" || m.Finality != FinalityConfirmations {
		t.Fatalf("metadata %+v", m)
	}
	grantee := common.HexToAddress("0x00000000000000000000000000000000000000b0")
	owner := crypto.PubkeyToAddress(c.Key.PublicKey)

	// The contract is at head-0 < 3 confirmations: nothing is final.
	obs, cur := poll(t, d, nil)
	if len(obs) != 0 || cur != nil {
		t.Fatalf("before finality: %v, cursor %q", obs, cur)
	}
	added := c.Call("insertGrant", grantee, "data-1", big.NewInt(0))
	c.Commit(2)
	obs, cur = poll(t, d, cur)
	if len(obs) != 0 {
		t.Fatalf("grant at 2 confirmations observed: %v", obs)
	}
	c.Commit(1)
	obs, cur = poll(t, d, cur)
	want := observation.Grant{Kind: observation.Added, Chain: "eip155:1337", Contract: c.ContractHex(),
		Owner: strings.ToLower(owner.Hex()), Grantee: strings.ToLower(grantee.Hex()), DataID: "data-1", LockedUntil: "0",
		BlockNumber: added.BlockNumber.Uint64(), BlockHash: strings.ToLower(added.BlockHash.Hex()),
		TxRef: fmt.Sprintf("%s:%d", strings.ToLower(added.TxHash.Hex()), added.Logs[0].Index)}
	if len(obs) != 1 || obs[0] != want {
		t.Fatalf("after finality:\n got %+v\nwant %+v", obs, want)
	}
	before := cur

	deleted := c.Call("deleteGrant", grantee, "data-1")
	c.Commit(3)
	obs, cur = poll(t, d, cur)
	if len(obs) != 1 || obs[0].Kind != observation.Deleted || obs[0].BlockHash != strings.ToLower(deleted.BlockHash.Hex()) || obs[0].DataID != "data-1" {
		t.Fatalf("deletion: %+v", obs)
	}
	delObs := obs[0]
	obs, _ = poll(t, d, cur)
	if len(obs) != 0 {
		t.Fatalf("repeated poll at the head: %v", obs)
	}

	// Restart: a fresh driver from the saved cursor reports the deletion
	// again; from no cursor, both.
	d2 := loadEVM(t, rt, c, []string{c.URL}, nil)
	if obs, _ = poll(t, d2, before); len(obs) != 1 || obs[0] != delObs {
		t.Fatalf("restart from cursor: %+v", obs)
	}
	if obs, _ = poll(t, d2, nil); len(obs) != 2 || obs[0] != want || obs[1] != delObs {
		t.Fatalf("restart from scratch: %+v", obs)
	}

	// Offline: the recorded exchanges answer the same polls.
	dir := t.TempDir()
	if err := rec.Save(dir); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("IDOS_RECORD_FIXTURES"); out != "" {
		if err := rec.Save(out); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	d3 := loadEVM(t, rt, c, []string{"a", "b"}, tr)
	got, cur3, err := PollFixtures(ctx, d3, nil, 100)
	if err != nil || len(got) != 2 || got[0] != want || got[1] != delObs || string(cur3) != string(cur) {
		t.Fatalf("replayed session: %+v, cursor %s, %v", got, cur3, err)
	}
	// Past the recording, a poll fails with ErrFixturesDone, an ErrEndpoint.
	if _, _, err := d3.Poll(ctx, cur3); !errors.Is(err, ErrFixturesDone) || !errors.Is(err, ErrEndpoint) {
		t.Fatalf("poll past the fixtures: %v", err)
	}
}

// TestEVMDriverEngines: the interpreter gives the compiler's observations.
func TestEVMDriverEngines(t *testing.T) {
	c := newChain(t)
	c.Call("insertGrant", common.HexToAddress("0xb1"), "data-2", big.NewInt(1<<40))
	c.Commit(3)
	var res [2][]observation.Grant
	var curs [2][]byte
	for i, interp := range []bool{false, true} {
		d := loadEVM(t, newRuntime(t, interp), c, []string{c.URL}, nil)
		res[i], curs[i] = poll(t, d, nil)
	}
	if len(res[0]) != 1 || res[0][0].LockedUntil != fmt.Sprint(int64(1)<<40) || !slices.Equal(res[0], res[1]) || string(curs[0]) != string(curs[1]) {
		t.Fatalf("compiler %+v %s, interpreter %+v %s", res[0], curs[0], res[1], curs[1])
	}
}

// TestEndpointDisagreement: a second endpoint that answers the
// cross-checked final-block query differently is named in the error.
func TestEndpointDisagreement(t *testing.T) {
	c := newChain(t)
	c.Commit(4)
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(c.URL, "application/json", strings.NewReader(string(body)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "eth_getBlockByNumber") {
			var m map[string]any
			_ = json.Unmarshal(out, &m)
			if res, ok := m["result"].(map[string]any); ok {
				res["hash"] = "0x" + strings.Repeat("ee", 32)
			}
			out, _ = json.Marshal(m)
		}
		_, _ = w.Write(out)
	}))
	defer liar.Close()
	d := loadEVM(t, newRuntime(t, false), c, []string{c.URL, liar.URL}, nil)
	_, _, err := d.Poll(context.Background(), nil)
	var ee *EndpointError
	if !errors.Is(err, ErrEndpoint) || !errors.As(err, &ee) || ee.Endpoint != liar.URL {
		t.Fatalf("err = %v, want an EndpointError naming %s", err, liar.URL)
	}
	// An unreachable endpoint is an EndpointError too.
	dead := "http://127.0.0.1:" + fmt.Sprint(evmchain.FreePort(t))
	d = loadEVM(t, newRuntime(t, false), c, []string{dead}, nil)
	if _, _, err = d.Poll(context.Background(), nil); !errors.As(err, &ee) || ee.Endpoint != dead {
		t.Fatalf("dead endpoint: %v", err)
	}
	_ = time.Second
}

// TestTemplateDriver: the template loads and polls a real node as shipped,
// reporting nothing and moving its cursor to the final block.
func TestTemplateDriver(t *testing.T) {
	c := newChain(t)
	c.Commit(5)
	wasm, err := os.ReadFile("../../wasmdrivers/template/template.wasm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), newRuntime(t, false), wasm, Config{Chain: "eip155:1337", Contract: "0x01", Confirmations: 2, Endpoints: []string{c.URL}})
	if err != nil {
		t.Fatal(err)
	}
	obs, cur := poll(t, d, nil)
	if want := fmt.Sprintf(`{"next":%d}`, c.Head()-2+1); len(obs) != 0 || string(cur) != want {
		t.Fatalf("template: %v, cursor %s, want %s", obs, cur, want)
	}
}

// TestOversizedResponse: an endpoint answering more than MaxResponse
// bytes fails the poll with ErrTooLarge, whatever the driver does.
func TestOversizedResponse(t *testing.T) {
	c := newChain(t)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"`+strings.Repeat("a", MaxResponse+10)+`"}`)
	}))
	defer huge.Close()
	d := loadEVM(t, newRuntime(t, false), c, []string{huge.URL}, nil)
	if _, _, err := d.Poll(context.Background(), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// TestEVMFinalizedDriver: evmfinalized reads up to geth's "finalized"
// block, which the simulated beacon advances every 32 blocks: a grant is
// observed only once its block is finalized, whatever its depth.
func TestEVMFinalizedDriver(t *testing.T) {
	c := newChain(t)
	wasm, err := os.ReadFile("../../wasmdrivers/evmfinalized/evmfinalized.wasm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), newRuntime(t, false), wasm, Config{Chain: "eip155:1337",
		Contract: c.ContractHex(), Endpoints: []string{c.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Metadata(); m.Finality != FinalityTag {
		t.Fatalf("metadata %+v", m)
	}
	added := c.Call("insertGrant", common.HexToAddress("0xb2"), "data-3", big.NewInt(7))
	c.Commit(int(31 - c.Head()))
	obs, cur := poll(t, d, nil)
	if len(obs) != 0 {
		t.Fatalf("at head %d (finalized 0): %v", c.Head(), obs)
	}
	c.Commit(1)
	obs, _ = poll(t, d, cur)
	if len(obs) != 1 || obs[0].DataID != "data-3" || obs[0].LockedUntil != "7" || obs[0].BlockNumber != added.BlockNumber.Uint64() {
		t.Fatalf("at head %d (finalized 32): %+v", c.Head(), obs)
	}
}

// TestEVMUnrepresentableGrantSkipped: anyone can insert a grant whose data
// id no idOS grant can hold (empty, or over observation.MaxDataID bytes);
// the driver skips it instead of returning an observation the host
// refuses, which would fail every later poll and stall the chain's
// grants for all. A valid grant in the same range is still observed.
func TestEVMUnrepresentableGrantSkipped(t *testing.T) {
	c := newChain(t)
	d := loadEVM(t, newRuntime(t, false), c, []string{c.URL}, nil)
	grantee := common.HexToAddress("0x00000000000000000000000000000000000000b0")
	c.Call("insertGrant", grantee, "", big.NewInt(0))
	c.Call("insertGrant", grantee, strings.Repeat("x", observation.MaxDataID+1), big.NewInt(0))
	c.Call("insertGrant", grantee, "data-ok", big.NewInt(0))
	c.Commit(3)
	obs, cur := poll(t, d, nil)
	if len(obs) != 1 || obs[0].DataID != "data-ok" || cur == nil {
		t.Fatalf("observations %+v, cursor %q; want only data-ok", obs, cur)
	}
}
