package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/tx"
)

// GenesisState is the parsed app_state of genesis.json: the app's own limit
// and, in canonical form, every module's section. The app knows no module's
// section: each module declares its own (module.GenesisSection), and
// node/composition writes the default file.
type GenesisState struct {
	// MaxTxBytes caps a transaction's encoded size; at most tx.MaxTxBytes.
	MaxTxBytes int
	canonical  []byte
}

// Canonical is the encoding of g that the app hash commits to: compact JSON
// with max_tx_bytes first, then the modules' sections in module order,
// fields in struct order.
func (g GenesisState) Canonical() ([]byte, error) { return bytes.Clone(g.canonical), nil }

// ParseGenesis decodes and validates app_state for modules, over the
// defaults: a field left out (or null) keeps its default, an unknown field
// is an error (a typo in genesis must not silently fall back to a default).
//
// It decodes into one struct built from the sections (max_tx_bytes, then
// one field per module with a section, named as the module), so the rules
// are encoding/json's for a plain struct and the canonical encoding is that
// struct marshalled.
func ParseGenesis(modules []module.Module, appState []byte) (GenesisState, error) {
	fields := []reflect.StructField{{Name: "MaxTxBytes", Type: reflect.TypeFor[int](), Tag: `json:"max_tx_bytes"`}}
	var sections []*module.GenesisSection
	for _, m := range modules {
		if m.Genesis == nil {
			continue
		}
		def := reflect.ValueOf(m.Genesis.Default())
		if def.Kind() != reflect.Pointer || def.Elem().Kind() != reflect.Struct {
			return GenesisState{}, fmt.Errorf("app: genesis section of module %s: Default must return a pointer to a struct, got %s", m.Name, def.Type())
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("M%d", len(sections)), Type: def.Type().Elem(), Tag: reflect.StructTag(`json:"` + m.Name + `"`),
		})
		sections = append(sections, m.Genesis)
	}
	v := reflect.New(reflect.StructOf(fields)).Elem()
	v.Field(0).SetInt(tx.MaxTxBytes)
	for i, s := range sections {
		v.Field(i + 1).Set(reflect.ValueOf(s.Default()).Elem())
	}
	if len(bytes.TrimSpace(appState)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(appState))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v.Addr().Interface()); err != nil {
			return GenesisState{}, fmt.Errorf("genesis app_state: %w", err)
		}
	}
	g := GenesisState{MaxTxBytes: int(v.Field(0).Int())}
	if g.MaxTxBytes <= 0 || g.MaxTxBytes > tx.MaxTxBytes {
		return GenesisState{}, fmt.Errorf("genesis app_state: max_tx_bytes %d out of range (1..%d)", g.MaxTxBytes, tx.MaxTxBytes)
	}
	for i, s := range sections {
		if err := s.Validate(v.Field(i + 1).Addr().Interface()); err != nil {
			return GenesisState{}, fmt.Errorf("genesis app_state: %w", err)
		}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return GenesisState{}, fmt.Errorf("genesis app_state: %w", err)
	}
	g.canonical = b
	return g, nil
}
