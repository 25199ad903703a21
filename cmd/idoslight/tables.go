package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/readproof"
)

// stateTable is a state table as the row encoding sees it: its columns in
// table order (the order of commitment.EncodeRow) and its primary key
// columns in key order. Both are part of the schema, which the chain commits
// to in its genesis digest, so a client may know them without asking a
// node. TestStateTablesMatchNode checks this list against the tables of a
// real node's database (sqlstate's own reading of pragma_table_info).
type stateTable struct {
	Columns []string
	PK      []string
}

// stateTables are the node's state tables (node/app accounts and the
// modules of composition.Modules), by name. The idos tables come from
// node/module/idos/idosschema, which the module's own tests check against
// SQLite.
var stateTables = withIdosTables(map[string]stateTable{
	// node/app
	"accounts": {[]string{"id", "next_nonce"}, []string{"id"}},
	// node/module/kv
	"kv": {[]string{"owner", "key", "value"}, []string{"owner", "key"}},
	// node/module/validators
	"validators":          {[]string{"pubkey", "power", "since"}, []string{"pubkey"}},
	"validator_params":    {[]string{"id", "join_expiry_blocks", "threshold_num", "threshold_den", "new_power"}, []string{"id"}},
	"validator_requests":  {[]string{"kind", "target", "proposer", "created", "expires", "status", "decided"}, []string{"kind", "target"}},
	"validator_approvals": {[]string{"kind", "target", "approver", "height"}, []string{"kind", "target", "approver"}},
	"validator_updates":   {[]string{"pubkey", "prev_power", "power"}, []string{"pubkey"}},
	// node/module/plugins
	"plugin_params": {[]string{"id", "proposal_expiry_blocks", "threshold_num", "threshold_den", "activation_delay_blocks",
		"max_module_bytes", "check_delay_blocks"}, []string{"id"}},
	"plugins": {[]string{"scheme", "module_hash", "code_hash", "module", "key_type", "address_format", "status", "proposer", "proposed",
		"activation_delay", "active_from", "removed_from", "check_height", "refusal"}, []string{"scheme"}},
	"plugin_requests":  {[]string{"kind", "scheme", "proposer", "created", "expires", "status", "decided"}, []string{"kind", "scheme"}},
	"plugin_approvals": {[]string{"kind", "scheme", "approver", "height"}, []string{"kind", "scheme", "approver"}},
	"plugin_uploads":   {[]string{"uploader", "seq", "module_hash", "data", "height"}, []string{"uploader", "seq"}},
	"plugin_wasm_limits": {[]string{"active_from", "fuel_limit", "init_fuel_limit", "stack_budget", "memory_limit_pages"},
		[]string{"active_from"}},
	// node/module/idos: inserters by approval (its idos_ tables come from idosschema)
	"inserter_params":    {[]string{"id", "expiry_blocks", "threshold_num", "threshold_den"}, []string{"id"}},
	"inserter_requests":  {[]string{"kind", "target", "proposer", "created", "expires", "status", "decided"}, []string{"kind", "target"}},
	"inserter_approvals": {[]string{"kind", "target", "approver", "height"}, []string{"kind", "target", "approver"}},
	// node/module/drivers
	"driver_params": {[]string{"id", "expiry_blocks", "threshold_num", "threshold_den", "max_observations"}, []string{"id"}},
	"driver_chains": {[]string{"chain", "contract", "confirmations", "driver_sha256", "account_scheme", "lock_unit", "status", "digest",
		"height"}, []string{"chain", "contract"}},
	"driver_pending": {[]string{"kind", "digest", "body"}, []string{"kind", "digest"}},
	"driver_grants": {[]string{"grant_id", "chain", "contract", "owner", "grantee", "data_id", "kind", "block_number", "block_hash",
		"tx_ref", "digest", "applied"}, []string{"grant_id"}},
	"driver_requests":  {[]string{"kind", "digest", "proposer", "created", "expires", "status", "decided"}, []string{"kind", "digest"}},
	"driver_approvals": {[]string{"kind", "digest", "approver", "height"}, []string{"kind", "digest", "approver"}},
	"wasm_modules":     {[]string{"sha256", "kind", "module", "uploader", "height"}, []string{"sha256"}},
})

func withIdosTables(m map[string]stateTable) map[string]stateTable {
	for _, t := range idosschema.Tables() {
		m[t.Name] = stateTable{Columns: t.Columns, PK: t.PK}
	}
	return m
}

// lookupTable returns the table named, or an error listing what exists.
func lookupTable(name string) (stateTable, error) {
	t, ok := stateTables[name]
	if !ok {
		return stateTable{}, fmt.Errorf("unknown table %q (tables: %s)", name, strings.Join(tableNames(), ", "))
	}
	return t, nil
}

func tableNames() []string {
	names := make([]string, 0, len(stateTables))
	for n := range stateTables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// parseKeyValues reads a JSON array of primary key values: strings are
// TEXT, integers INTEGER (the only key column types of the state).
func parseKeyValues(s string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%q is not a JSON array: %v", s, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%q: trailing data after the array", s)
	}
	out := make([]any, len(raw))
	for i, v := range raw {
		switch v := v.(type) {
		case string:
			out[i] = v
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return nil, fmt.Errorf("value %d (%s) is not a 64-bit integer", i, v)
			}
			out[i] = n
		default:
			return nil, fmt.Errorf("value %d (%v) is neither a string nor an integer", i, v)
		}
	}
	return out, nil
}

// tableOfKey returns the table a commitment key or prefix belongs to: the
// bytes before its first NUL (commitment.TablePrefix).
func tableOfKey(key []byte) (string, stateTable, error) {
	i := bytes.IndexByte(key, 0)
	if i <= 0 {
		return "", stateTable{}, fmt.Errorf("key %x does not start with a table name", key)
	}
	name := string(key[:i])
	t, err := lookupTable(name)
	return name, t, err
}

// namedRow is a verified row as printed: column names with their values in
// table order. BLOB values are printed as lowercase hex strings, cut after
// maxBlob bytes when maxBlob > 0.
type namedRow struct {
	cols    []string
	vals    []any
	maxBlob int
}

// blobText is a BLOB as printed: all of it in hex, or its first max bytes
// and how long it is (a plugin's module is megabytes of hex, which buries
// the row's other columns on a terminal).
func blobText(b []byte, max int) string {
	if max <= 0 || len(b) <= max {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s… (%d bytes; --full prints them all)", hex.EncodeToString(b[:max]), len(b))
}

// MarshalJSON writes the row as an object in column order.
func (r namedRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range r.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		b.Write(k)
		b.WriteByte(':')
		v := r.vals[i]
		if blob, ok := v.([]byte); ok {
			v = blobText(blob, r.maxBlob)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(enc)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// nameRows gives verified rows of table their column names. A row whose
// column count differs from the table's is an error: the client's schema
// and the chain's disagree, and guessing names would mislabel data.
func nameRows(table string, t stateTable, rows []readproof.VerifiedRow) ([]namedRow, error) {
	out := make([]namedRow, len(rows))
	for i, r := range rows {
		if len(r.Values) != len(t.Columns) {
			return nil, fmt.Errorf("verified row %x of %s has %d columns, this client knows %d (%s): the client's schema is not the chain's",
				r.Key, table, len(r.Values), len(t.Columns), strings.Join(t.Columns, ", "))
		}
		out[i] = namedRow{cols: t.Columns, vals: r.Values}
	}
	return out, nil
}

// verifiedAnswer is what `get` prints and the proxy answers.
type verifiedAnswer struct {
	Height int64          `json:"height"`
	Kind   readproof.Kind `json:"kind"`
	Table  string         `json:"table"`
	Key    string         `json:"key"`
	Rows   []namedRow     `json:"rows"`
}

// cutBlobs makes the answer print at most max bytes of each BLOB.
func (a *verifiedAnswer) cutBlobs(max int) {
	for i := range a.Rows {
		a.Rows[i].maxBlob = max
	}
}

// answerOf names the rows of a verified read of key (or prefix).
func answerOf(height int64, kind readproof.Kind, key []byte, rows []readproof.VerifiedRow) (*verifiedAnswer, error) {
	name, t, err := tableOfKey(key)
	if err != nil {
		return nil, err
	}
	named, err := nameRows(name, t, rows)
	if err != nil {
		return nil, err
	}
	return &verifiedAnswer{Height: height, Kind: kind, Table: name, Key: hex.EncodeToString(key), Rows: named}, nil
}

// buildKey makes the commitment key (exact) or prefix of table from JSON
// key values: a key needs every primary key column, a prefix the leading
// ones (none: the whole table).
func buildKey(table string, values []any, exact bool) ([]byte, error) {
	t, err := lookupTable(table)
	if err != nil {
		return nil, err
	}
	switch {
	case exact && len(values) != len(t.PK):
		return nil, fmt.Errorf("table %s has a primary key of %d columns (%s), --key gives %d values",
			table, len(t.PK), strings.Join(t.PK, ", "), len(values))
	case !exact && len(values) > len(t.PK):
		return nil, fmt.Errorf("table %s has a primary key of %d columns (%s), --prefix gives %d values",
			table, len(t.PK), strings.Join(t.PK, ", "), len(values))
	}
	if len(values) == 0 {
		return commitment.TablePrefix(table)
	}
	return commitment.Key(table, values)
}
