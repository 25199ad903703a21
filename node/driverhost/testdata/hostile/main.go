// Command hostile is a driver that misbehaves in the way its configured
// contract names, for driverhost's containment tests.
package main

import (
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

func init() {
	driver.Register(driver.Metadata{Name: "hostile", Family: "test", Finality: driver.FinalityConfirmations, Config: []string{"chain", "contract"}}, poll)
}

func main() {}

var (
	sink    int
	counter int
	kept    [][]byte
)

func grant(req driver.Request) observation.Grant {
	return observation.Grant{Kind: observation.Added, Chain: req.Chain, Contract: req.Contract, Owner: "0xaa", Grantee: "0xbb",
		DataID: "d", LockedUntil: "0", BlockNumber: 1, BlockHash: "0xcc", TxRef: "0xdd:0"}
}

func poll(req driver.Request) (driver.Response, error) {
	switch req.Contract {
	case "loop":
		for i := 0; ; i++ {
			sink += i
		}
	case "trap":
		panic("hostile trap")
	case "endpoint":
		// Ask for another endpoint: the request may only name a method
		// and params.
		var out any
		err := driver.CallRaw([]byte(`{"method":"eth_blockNumber","params":[],"url":"http://169.254.169.254/"}`), &out)
		return driver.Response{}, err
	case "calls":
		for {
			var out any
			if err := driver.Call("eth_blockNumber", nil, false, &out); err != nil {
				return driver.Response{}, err
			}
		}
	case "oversized":
		g := grant(req)
		g.Owner = strings.Repeat("a", observation.MaxFieldBytes+1)
		return driver.Response{Observations: []observation.Grant{g}}, nil
	case "malformed":
		g := grant(req)
		g.LockedUntil = "-1"
		return driver.Response{Observations: []observation.Grant{g}}, nil
	case "otherchain":
		g := grant(req)
		g.Chain = "eip155:666"
		return driver.Response{Observations: []observation.Grant{g}}, nil
	case "flood":
		obs := make([]observation.Grant, 5000)
		for i := range obs {
			obs[i] = grant(req)
		}
		return driver.Response{Observations: obs}, nil
	case "state":
		// Carries state from poll to poll if the host lets it: each poll
		// should see the counter at zero.
		counter++
		switch string(req.Cursor) {
		case "trap":
			panic("hostile trap after a change")
		case "grow":
			kept = append(kept, make([]byte, 16<<20))
		}
		return driver.Response{Cursor: []byte(strconv.Itoa(counter))}, nil
	case "memory":
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 1<<20))
			sink += len(keep)
		}
	}
	return driver.Response{Observations: []observation.Grant{grant(req)}, Cursor: []byte("c")}, nil
}
