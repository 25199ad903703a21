// Command evm is the EVM chain-grant driver: it reads the grant contract
// (contract/Grants.sol) on any EVM chain at head minus the configured
// confirmations, through eth_blockNumber, eth_getBlockByNumber and
// eth_getLogs over block ranges, and reports each GrantAdded and
// GrantDeleted event as an observation. A new EVM chain with the same
// contract needs no new code: only its chain id, contract address,
// confirmations and endpoints (docs/drivers.md).
//
// The events carry the dataId twice: indexed (its topic is only
// keccak256(dataId)) and in the data, where the driver reads it and checks
// it against the topic. The few ABI fields are decoded by hand (decode.go):
// go-ethereum's accounts/abi builds for wasip1 but would multiply the
// module's size for two static words and one string.
package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

//go:generate go run ../../sdk-wasm/cmd/idos-wasm-build -o evm.wasm .

// MaxRange is the most blocks one poll reads logs for.
const MaxRange = 2000

func init() {
	driver.Register(driver.Metadata{
		Name:     "evm-grants",
		Family:   "evm",
		Finality: driver.FinalityConfirmations,
		Config:   []string{"chain", "contract", "confirmations"},
	}, poll)
}

func main() {}

// cursor is the driver's position: the first block not yet read.
type cursor struct {
	Next uint64 `json:"next"`
}

type logEntry struct {
	Address         string   `json:"address"`
	Topics          []string `json:"topics"`
	Data            string   `json:"data"`
	BlockNumber     string   `json:"blockNumber"`
	BlockHash       string   `json:"blockHash"`
	TransactionHash string   `json:"transactionHash"`
	LogIndex        string   `json:"logIndex"`
	Removed         bool     `json:"removed"`
}

func poll(req driver.Request) (driver.Response, error) {
	var c cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &c); err != nil {
			return driver.Response{}, fmt.Errorf("evm: bad cursor: %w", err)
		}
	}
	same := driver.Response{Cursor: req.Cursor}
	var headHex string
	if err := driver.Call("eth_blockNumber", nil, false, &headHex); err != nil {
		return driver.Response{}, err
	}
	head, err := quantity(headHex)
	if err != nil {
		return driver.Response{}, fmt.Errorf("evm: eth_blockNumber: %w", err)
	}
	if head < req.Confirmations || head-req.Confirmations < c.Next {
		return same, nil
	}
	final := head - req.Confirmations
	to := min(final, c.Next+MaxRange-1)
	// Every endpoint must agree on the last block of the range: a node
	// on another fork or behind is named by the host.
	var block struct {
		Number string `json:"number"`
		Hash   string `json:"hash"`
	}
	if err := driver.Call("eth_getBlockByNumber", []any{hexQ(to), false}, true, &block); err != nil {
		return driver.Response{}, err
	}
	if n, err := quantity(block.Number); err != nil || n != to {
		return driver.Response{}, fmt.Errorf("evm: eth_getBlockByNumber(%d) returned block %q", to, block.Number)
	}
	var logs []logEntry
	filter := map[string]any{
		"fromBlock": hexQ(c.Next),
		"toBlock":   hexQ(to),
		"address":   req.Contract,
		"topics":    []any{[]string{topicAdded, topicDeleted}},
	}
	if err := driver.Call("eth_getLogs", []any{filter}, true, &logs); err != nil {
		return driver.Response{}, err
	}
	var obs []observation.Grant
	for i, l := range logs {
		if l.Removed {
			continue
		}
		g, err := decodeLog(req, l)
		if err != nil {
			return driver.Response{}, fmt.Errorf("evm: log %d: %w", i, err)
		}
		obs = append(obs, g)
	}
	next, _ := json.Marshal(cursor{Next: to + 1})
	return driver.Response{Observations: obs, Cursor: next}, nil
}

func decodeLog(req driver.Request, l logEntry) (observation.Grant, error) {
	if !strings.EqualFold(l.Address, req.Contract) {
		return observation.Grant{}, fmt.Errorf("log of %s, not the contract", l.Address)
	}
	if len(l.Topics) != 4 {
		return observation.Grant{}, fmt.Errorf("%d topics, want 4", len(l.Topics))
	}
	kind := observation.Added
	switch strings.ToLower(l.Topics[0]) {
	case topicAdded:
	case topicDeleted:
		kind = observation.Deleted
	default:
		return observation.Grant{}, fmt.Errorf("unknown event %s", l.Topics[0])
	}
	owner, err := topicAddress(l.Topics[1])
	if err != nil {
		return observation.Grant{}, err
	}
	grantee, err := topicAddress(l.Topics[2])
	if err != nil {
		return observation.Grant{}, err
	}
	locked, dataID, err := decodeData(l.Data)
	if err != nil {
		return observation.Grant{}, err
	}
	if "0x"+hexString(keccak([]byte(dataID))) != strings.ToLower(l.Topics[3]) {
		return observation.Grant{}, fmt.Errorf("dataId %q does not match its topic", dataID)
	}
	n, err := quantity(l.BlockNumber)
	if err != nil {
		return observation.Grant{}, fmt.Errorf("blockNumber: %w", err)
	}
	idx, err := quantity(l.LogIndex)
	if err != nil {
		return observation.Grant{}, fmt.Errorf("logIndex: %w", err)
	}
	return observation.Grant{
		Kind:        kind,
		Chain:       req.Chain,
		Contract:    req.Contract,
		Owner:       owner,
		Grantee:     grantee,
		DataID:      dataID,
		LockedUntil: locked,
		BlockNumber: n,
		BlockHash:   strings.ToLower(l.BlockHash),
		TxRef:       strings.ToLower(l.TransactionHash) + ":" + strconv.FormatUint(idx, 10),
	}, nil
}
