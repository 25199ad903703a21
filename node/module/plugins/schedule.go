package plugins

import (
	"context"

	"github.com/idos-network/idos-node/node/module"
)

// Querier is what the node reads plugin state through: the block's writer
// (inside the block transaction) or a committed read snapshot.
type Querier = module.Querier

// Scheduled is a plugin that verifies now or will: approved and not yet
// past its removal height.
type Scheduled = module.ScheduledPlugin

// Schedule lists, in scheme order, every plugin that verifies at height h
// or at a later height. The node registers the ones active at h and loads
// the others ahead of their activation.
func Schedule(ctx context.Context, q Querier, h int64) ([]Scheduled, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT scheme, module_hash, active_from, removed_from FROM plugins
		 WHERE status IN ('active', 'removed') AND (removed_from = 0 OR removed_from > ?) AND active_from > 0
		   AND (removed_from = 0 OR removed_from > active_from)
		 ORDER BY scheme`, h)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Scheduled
	for rows.Next() {
		var s Scheduled
		var hash []byte
		if err := rows.Scan(&s.Scheme, &hash, &s.ActiveFrom, &s.RemovedFrom); err != nil {
			return nil, err
		}
		copy(s.Hash[:], hash)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ModuleBytes returns the module of scheme as stored in state.
func ModuleBytes(ctx context.Context, q Querier, scheme string) ([]byte, error) {
	var b []byte
	err := q.QueryRowContext(ctx, `SELECT module FROM plugins WHERE scheme = ?`, scheme).Scan(&b)
	return b, err
}
