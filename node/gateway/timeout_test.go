package gateway

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/node/wire"
)

// timeoutScheme stands for a signature plugin stopped by the Wasm host's
// wall-clock safety net.
type timeoutScheme struct{}

func (timeoutScheme) Name() string { return "slow" }
func (timeoutScheme) Verify(_, _, _ []byte) (string, error) {
	return "", fmt.Errorf("plugin slow: %w", wasmhost.ErrTimeout)
}

// A challenge whose verification hits the wall-clock safety net is this
// node's failure, not the caller's: the read fails with a server error the
// caller may retry, not bad_signature. (The consensus paths that verify
// signatures halt the block instead: node/app TestTimeoutHaltsTheBlock.)
func TestChallengeTimeoutIsAServerError(t *testing.T) {
	reader := &fakeReader{}
	s := newTestServer(t, nil, reader, func(c *Config) {
		c.Schemes = auth.DefaultRegistry()
		if err := c.Schemes.Register(timeoutScheme{}); err != nil {
			t.Fatal(err)
		}
	})
	rec, _ := call(t, s, "POST", "/v1/auth/challenge", "")
	var ch wire.ChallengeResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &ch); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"auth": wire.PrivateAuth{Challenge: ch.Challenge, Scheme: "slow",
		Signer: hex.EncodeToString(make([]byte, 32)), Signature: hex.EncodeToString(make([]byte, 64))}})
	rec, eb := call(t, s, "POST", "/v1/private/kv.get", string(body))
	if rec.Code != 503 || eb.Error.Code != wire.ErrUnavailable {
		t.Fatalf("challenge verification timed out: %d %+v, want 503 %s", rec.Code, eb.Error, wire.ErrUnavailable)
	}
	if reader.caller.Scheme != "" {
		t.Fatalf("the query ran for %+v", reader.caller)
	}
}
