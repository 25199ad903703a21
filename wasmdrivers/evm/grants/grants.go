// Package grants is the EVM grant drivers' logic: it reads the grant
// contract (../contract/Grants.sol) at a final block, through
// eth_getBlockByNumber and eth_getLogs over block ranges, and reports each
// GrantAdded and GrantDeleted event as an observation. The evm driver
// takes head minus the configured confirmations as final, evmfinalized
// the chain's "finalized" block.
//
// The events carry the dataId twice: indexed (its topic is only
// keccak256(dataId)) and in the data, where the driver reads it and checks
// it against the topic. The few ABI fields are decoded by hand (decode.go):
// go-ethereum's accounts/abi builds for wasip1 but would add to the
// module's size for two static words and one string.
package grants

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/idos-network/idos-node/node/observation"
	"github.com/idos-network/idos-node/sdk-wasm/driver"
)

// MaxRange is the most blocks one poll reads logs for.
const MaxRange = 2000

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

// Poll is one poll. With finalized the final block is the chain's
// "finalized" block, else head minus req.Confirmations.
func Poll(req driver.Request, finalized bool) (driver.Response, error) {
	var c cursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &c); err != nil {
			return driver.Response{}, fmt.Errorf("evm: bad cursor: %w", err)
		}
	}
	same := driver.Response{Cursor: req.Cursor}
	final, ok, err := finalBlock(req.Confirmations, finalized)
	if err != nil {
		return driver.Response{}, err
	}
	if !ok || final < c.Next {
		return same, nil
	}
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
		// The contract takes any string as a data id: one no idOS grant
		// can hold (empty, or over observation.MaxDataID bytes) is
		// skipped, or the host would refuse every poll from here on.
		if g.Validate() != nil {
			continue
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

// finalBlock returns the number of the last final block, and false when
// no block is final yet. The head is asked of the first endpoint only:
// endpoints may differ on it; they must agree on what is read below it.
func finalBlock(confirmations uint64, finalized bool) (uint64, bool, error) {
	if finalized {
		var b *struct {
			Number string `json:"number"`
		}
		if err := driver.Call("eth_getBlockByNumber", []any{"finalized", false}, false, &b); err != nil {
			return 0, false, err
		}
		if b == nil {
			return 0, false, nil
		}
		n, err := quantity(b.Number)
		if err != nil {
			return 0, false, fmt.Errorf("evm: finalized block: %w", err)
		}
		return n, true, nil
	}
	var headHex string
	if err := driver.Call("eth_blockNumber", nil, false, &headHex); err != nil {
		return 0, false, err
	}
	head, err := quantity(headHex)
	if err != nil {
		return 0, false, fmt.Errorf("evm: eth_blockNumber: %w", err)
	}
	if head < confirmations {
		return 0, false, nil
	}
	return head - confirmations, true, nil
}
