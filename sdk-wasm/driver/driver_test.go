package driver

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/idos-network/idos-node/node/observation"
)

// TestPollAndCall runs the guest side natively: metadata, a poll's result
// document, and Call's handling of each rpc_call status.
func TestPollAndCall(t *testing.T) {
	var got struct {
		ABI int `json:"abi"`
		Metadata
	}
	Register(Metadata{Name: "t", Family: "evm", Finality: FinalityTag, Config: []string{"chain"}}, func(r Request) (Response, error) {
		var head string
		if err := Call("eth_blockNumber", nil, false, &head); err != nil {
			return Response{}, err
		}
		if head == "0x0" {
			return Response{Cursor: r.Cursor}, nil
		}
		return Response{Observations: []observation.Grant{{Kind: observation.Added, Chain: r.Chain}}, Cursor: []byte(head)}, nil
	})
	if err := json.Unmarshal(MetadataJSON(), &got); err != nil || got.ABI != ABIVersion || got.Finality != FinalityTag {
		t.Fatalf("metadata %+v %v", got, err)
	}
	answer, status := `"0x5"`, 0
	var sent string
	Transport = func(req []byte, crossCheck bool) ([]byte, int) {
		sent = string(req)
		return []byte(answer), status
	}
	var res struct {
		Observations []observation.Grant `json:"observations"`
		Cursor       []byte              `json:"cursor"`
		Error        string              `json:"error"`
	}
	decode := func(b []byte) {
		res.Observations, res.Cursor, res.Error = nil, nil, ""
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
	}
	decode(PollJSON(Request{Chain: "eip155:1", Cursor: []byte("c0")}))
	if sent != `{"method":"eth_blockNumber","params":[]}` || len(res.Observations) != 1 || string(res.Cursor) != "0x5" || res.Error != "" {
		t.Fatalf("request %s, result %+v", sent, res)
	}
	// Nothing new: an empty list (never null) and the input cursor.
	answer = `"0x0"`
	b := PollJSON(Request{Cursor: []byte("c0")})
	decode(b)
	if !strings.Contains(string(b), `"observations":[]`) || string(res.Cursor) != "c0" {
		t.Fatalf("empty poll: %s", b)
	}
	// A JSON-RPC error object becomes an *RPCError, a host failure ErrHost;
	// either way the poll reports an error, not a result.
	answer, status = `{"code":-32000,"message":"header not found"}`, 1
	var rpcErr *RPCError
	var s string
	if err := Call("eth_x", nil, true, &s); !errors.As(err, &rpcErr) || rpcErr.Code != -32000 || !errors.Is(err, ErrRPC) {
		t.Fatalf("rpc error: %v", err)
	}
	decode(PollJSON(Request{}))
	if !strings.Contains(res.Error, "header not found") || res.Observations != nil {
		t.Fatalf("poll with rpc error: %+v", res)
	}
	status = -1
	if err := Call("eth_x", nil, false, &s); !errors.Is(err, ErrHost) {
		t.Fatalf("host failure: %v", err)
	}
}
