package observation

import (
	"encoding/hex"
	"errors"
	"testing"
)

func sample() Grant {
	return Grant{Kind: Added, Chain: "eip155:1337", Contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
		Owner: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", Grantee: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
		DataID: "cred-1", LockedUntil: "0", BlockNumber: 42,
		BlockHash: "0x" + hex.EncodeToString(make([]byte, 32)), TxRef: "0x" + hex.EncodeToString(make([]byte, 32)) + ":0"}
}

func TestRoundTrip(t *testing.T) {
	g := sample()
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil || back != g {
		t.Fatalf("decode: %+v, %v", back, err)
	}
	h1, _ := g.Hash()
	g.BlockNumber++
	h2, _ := g.Hash()
	if h1 == h2 {
		t.Fatal("the block number is not in the hash")
	}
}

func TestInvalid(t *testing.T) {
	for name, mut := range map[string]func(*Grant){
		"kind":         func(g *Grant) { g.Kind = "changed" },
		"empty owner":  func(g *Grant) { g.Owner = "" },
		"space":        func(g *Grant) { g.Grantee = "a b" },
		"leading zero": func(g *Grant) { g.LockedUntil = "01" },
		"negative":     func(g *Grant) { g.LockedUntil = "-1" },
		"over 2^256": func(g *Grant) {
			g.LockedUntil = "115792089237316195423570985008687907853269984665640564039457584007913129639936"
		},
		"long data id":    func(g *Grant) { g.DataID = string(make([]byte, MaxDataID+1)) },
		"empty tx ref":    func(g *Grant) { g.TxRef = "" },
		"long block hash": func(g *Grant) { g.BlockHash = string(make([]byte, MaxFieldBytes+1)) },
	} {
		g := sample()
		mut(&g)
		if _, err := g.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Decode([]byte{0xc0}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty list: %v", err)
	}
}

// The encoding and hash vectors of docs/spec/drivers.md.
func TestVectors(t *testing.T) {
	g := Grant{Kind: Added, Chain: "eip155:1", Contract: "0xc0ffee", Owner: "0xaa", Grantee: "0xbb",
		DataID: "00000000-0000-4000-8000-0000000000c1", LockedUntil: "1700000000", BlockNumber: 1024, BlockHash: "0x01", TxRef: "0x02:3"}
	for _, c := range []struct {
		kind      Kind
		enc, hash string
	}{
		{Added, "f86201856164646564886569703135353a3188307863306666656584307861618430786262a430303030303030302d303030302d343030302d383030302d3030303030303030303063318a31373030303030303030820400843078303186307830323a33",
			"c66dfd1067b18db10fcefb7ae47b5b40d45be9f593571f44de6941136621d8a8"},
		{Deleted, "f864018764656c65746564886569703135353a3188307863306666656584307861618430786262a430303030303030302d303030302d343030302d383030302d3030303030303030303063318a31373030303030303030820400843078303186307830323a33",
			"e5ff8d3f0b61e61ed812d5f0949ce30bbd7eb75223791b513e354f571318243a"},
	} {
		g.Kind = c.kind
		b, err := g.Encode()
		if err != nil || hex.EncodeToString(b) != c.enc {
			t.Errorf("%s: encoding %x, %v, want %s", c.kind, b, err, c.enc)
		}
		h, _ := g.Hash()
		if hex.EncodeToString(h[:]) != c.hash {
			t.Errorf("%s: hash %x, want %s", c.kind, h, c.hash)
		}
	}
}
