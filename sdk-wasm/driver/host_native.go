//go:build !wasip1

package driver

import "encoding/json"

// Native builds (tests of a driver's logic) answer calls through Transport.

// Transport answers rpc_call in native builds: it gets the request
// ({"method","params"}) and returns the result or error object with the
// status (0 result, 1 JSON-RPC error, negative host failure).
var Transport func(req []byte, crossCheck bool) ([]byte, int)

func rpcCall(req []byte, crossCheck bool) ([]byte, int) {
	if Transport == nil {
		return nil, -1
	}
	return Transport(req, crossCheck)
}

// Metadata JSON and Poll for native tests.

// MetadataJSON is the document idos_driver_metadata returns.
func MetadataJSON() []byte { return metadataJSON() }

// PollJSON runs a poll as idos_driver_poll does.
func PollJSON(req Request) []byte {
	in, _ := json.Marshal(req)
	return pollJSON(in)
}
