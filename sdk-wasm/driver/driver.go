// Package driver is the guest side of the chain-grant driver ABI
// (docs/spec/wasm-abi.md, "Drivers"): a driver is a Go wasip1 module that
// registers its metadata and a poll function, and reads its chain only
// through Call, which the host answers from the JSON-RPC endpoints the
// operator configured for that chain.
//
// It is independent of the signature-plugin SDK (package sdk): a module is
// either a plugin or a driver, and each side has its own exports.
package driver

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/idos-network/idos-node/node/observation"
)

// ABIVersion is the driver ABI this package implements.
const ABIVersion = 1

// Finality rules a driver may declare.
const (
	// FinalityConfirmations: a block is final once the configured number
	// of blocks is built on it (Request.Confirmations).
	FinalityConfirmations = "confirmations"
	// FinalityTag: the chain says which block is final (EVM's
	// "finalized" block tag).
	FinalityTag = "finalized"
)

// Metadata is what a driver declares about itself (idos_driver_metadata).
type Metadata struct {
	// Name names the driver, e.g. "evm-grants".
	Name string `json:"name"`
	// Family is the chain family the driver reads, e.g. "evm".
	Family string `json:"family"`
	// Finality is FinalityConfirmations or FinalityTag.
	Finality string `json:"finality"`
	// Config lists the configuration the driver needs, from "chain",
	// "contract", "confirmations".
	Config []string `json:"config"`
}

// Request is the input of one poll: the operator's configuration and the
// cursor the previous poll returned (empty on the first poll).
type Request struct {
	Chain         string `json:"chain"`
	Contract      string `json:"contract"`
	Confirmations uint64 `json:"confirmations"`
	Cursor        []byte `json:"cursor"`
}

// Response is the output of one poll: the observations, in chain order,
// and the cursor of the next poll. A poll that sees nothing new returns
// its input cursor.
type Response struct {
	Observations []observation.Grant `json:"observations"`
	Cursor       []byte              `json:"cursor"`
}

// result is the wire form of a poll's outcome: exactly one of Response or
// Error.
type result struct {
	*Response
	Error string `json:"error,omitempty"`
}

// Errors of Call, one per status code of rpc_call.
var (
	// ErrRPC: the endpoint answered with a JSON-RPC error; the error
	// object is in the *RPCError.
	ErrRPC = errors.New("driver: JSON-RPC error")
	// ErrHost: the host refused or failed the call (endpoint unreachable,
	// endpoints disagree, response too large, call budget spent). The poll
	// should give up: the host reports the cause itself.
	ErrHost = errors.New("driver: rpc_call failed in the host")
)

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }
func (e *RPCError) Unwrap() error { return ErrRPC }

var (
	meta   Metadata
	poll   func(Request) (Response, error)
	loaded bool
)

// Register declares the driver. Call it once, from init.
func Register(m Metadata, p func(Request) (Response, error)) {
	if loaded {
		panic("driver: Register called twice")
	}
	meta, poll, loaded = m, p, true
}

// MaxResponse is the largest result rpc_call returns (the host's cap).
const MaxResponse = 4 << 20

// Call makes the JSON-RPC call method(params) and decodes its result into
// out. params is a []any of positional parameters (nil: none) or a value
// encoding to a JSON object of named ones, as JSON-RPC 2.0 allows and
// NEAR's RPC requires. With crossCheck the host asks every configured
// endpoint and requires identical results; use it for everything read at a
// final block.
func Call(method string, params any, crossCheck bool, out any) error {
	if params == nil {
		params = []any{}
	}
	req, err := json.Marshal(struct {
		Method string `json:"method"`
		Params any    `json:"params"`
	}{method, params})
	if err != nil {
		return err
	}
	res, status := rpcCall(req, crossCheck)
	switch status {
	case statusOK:
		if err := json.Unmarshal(res, out); err != nil {
			return fmt.Errorf("driver: %s result: %w", method, err)
		}
		return nil
	case statusRPCError:
		e := &RPCError{}
		if err := json.Unmarshal(res, e); err != nil {
			return fmt.Errorf("%w: %s: undecodable error object", ErrRPC, method)
		}
		return fmt.Errorf("%s: %w", method, e)
	default:
		return fmt.Errorf("%w: %s: status %d", ErrHost, method, status)
	}
}

// Status codes of rpc_call (docs/spec/wasm-abi.md).
const (
	statusOK       = 0
	statusRPCError = 1
)

func metadataJSON() []byte {
	b, err := json.Marshal(struct {
		ABI int `json:"abi"`
		Metadata
	}{ABIVersion, meta})
	if err != nil {
		panic(err)
	}
	return b
}

func pollJSON(in []byte) []byte {
	var req Request
	var out result
	if err := json.Unmarshal(in, &req); err != nil {
		out.Error = "driver: bad poll request: " + err.Error()
	} else if !loaded {
		out.Error = "driver: no driver registered"
	} else if res, err := poll(req); err != nil {
		out.Error = err.Error()
	} else {
		if res.Observations == nil {
			res.Observations = []observation.Grant{}
		}
		out.Response = &res
	}
	b, err := json.Marshal(out)
	if err != nil {
		b, _ = json.Marshal(result{Error: "driver: encode result: " + err.Error()})
	}
	return b
}

// CallRaw sends a raw rpc_call request, for tests of the host's checks;
// drivers use Call.
func CallRaw(req []byte, out any) error {
	res, status := rpcCall(req, false)
	if status != statusOK {
		return fmt.Errorf("%w: status %d", ErrHost, status)
	}
	return json.Unmarshal(res, out)
}
