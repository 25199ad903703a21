package gwclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/wire"
)

// countingSigner records whether it was asked to sign.
type countingSigner struct {
	auth.Signer
	signed int
}

func (s *countingSigner) Sign(msg []byte) ([]byte, error) { s.signed++; return s.Signer.Sign(msg) }

// TestPrivateRefusesForeignText: a gateway that asks the client to sign
// anything but a read challenge (here a transaction's sign text) gets no
// signature.
func TestPrivateRefusesForeignText(t *testing.T) {
	const node = "0123456789abcdef0123456789abcdef01234567"
	chal := strings.Repeat("ab", 32)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, msg := range map[string]string{
		"transaction text": "idOS transaction v1\nChain ID: idos\nAction: kv.put\nNonce: 0\nPayload SHA-256: " + chal,
		"other challenge":  wire.ChallengeMessage(node, strings.Repeat("cd", 32), exp),
		"other expiry":     wire.ChallengeMessage(node, chal, exp.Add(time.Hour)),
		"bad node id":      wire.ChallengeMessage("node\nX", chal, exp),
		"pinned node":      wire.ChallengeMessage(strings.Repeat("f", 40), chal, exp),
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(wire.ChallengeResponse{Challenge: chal, ExpiresAt: exp.Format(time.RFC3339), Message: msg})
		}))
		s := &countingSigner{Signer: auth.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))}
		c := New(srv.URL, nil)
		c.NodeID = node
		if _, err := c.Private(context.Background(), "x.y", s, nil); err == nil || s.signed != 0 {
			t.Errorf("%s: err %v, signed %d times", name, err, s.signed)
		}
		srv.Close()
	}
}

func TestErrorFromForeignBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := New(srv.URL, nil).Query(context.Background(), "kv.get", nil)
	if ErrorCode(err) != "http_502" || !strings.Contains(err.Error(), "bad gateway") {
		t.Errorf("%v", err)
	}
}
