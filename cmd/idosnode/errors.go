package main

import "github.com/idos-network/idos-node/internal/jsontext"

// errorText is err's message for a person: a JSON type mismatch from a
// config, genesis or vectors file names the field and the JSON kinds
// expected and found instead of Go types ("Go struct field AppConfig.x of
// type string").
func errorText(err error) string { return jsontext.Message(err) }
