package valclient

import (
	"context"

	"github.com/idos-network/idos-node/node/module/drivers"
)

// The drivers module's queries.
const (
	QueryDriverChains  = "/drivers.chains"
	QueryDriverPending = "/drivers.pending"
)

// DriverChains reads the chain configs and the height of the answer.
func (c *Client) DriverChains(ctx context.Context) ([]drivers.ChainRow, int64, error) {
	var l []drivers.ChainRow
	h, err := c.query(ctx, QueryDriverChains, nil, &l)
	return l, h, err
}

// DriverPending reads the open proposals (every one with all): pending
// observations and chain configs with their attested power.
func (c *Client) DriverPending(ctx context.Context, all bool) ([]drivers.Pending, int64, error) {
	var l []drivers.Pending
	data := []byte(`{}`)
	if all {
		data = []byte(`{"all":true}`)
	}
	h, err := c.query(ctx, QueryDriverPending, data, &l)
	return l, h, err
}
