// Package gwclient is a client of the node's HTTP gateway (node/gateway):
// submit transactions, look them up, run public queries, and run private
// queries authenticated by a signed challenge. It shares only node/wire
// with the server, so a program using it links no node.
package gwclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/wire"
)

// Error is a gateway error answer: the HTTP status and the body's error
// (its Code is one of the wire.Err* constants).
type Error struct {
	Status int
	wire.ErrorDetail
}

func (e *Error) Error() string {
	s := fmt.Sprintf("gateway: %d %s: %s", e.Status, e.Code, e.Message)
	if e.ABCICode != 0 {
		s += fmt.Sprintf(" (%s code %d)", e.Codespace, e.ABCICode)
	}
	return s
}

// ErrorCode returns the gateway error code of err, or "" if err is not an
// *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// maxResponseBytes bounds what the client reads from a gateway answer; the
// largest legitimate answers (credential lists) are far below it.
const maxResponseBytes = 16 << 20

// Client calls one gateway. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
	// NodeID, if set, pins the node: a challenge naming another node is
	// refused before signing.
	NodeID string
}

// New returns a client of the gateway at baseURL (e.g.
// "http://127.0.0.1:8080"). A nil hc means a client with a 30 s timeout.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: hc}
}

// do sends body (marshalled unless nil) and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("gwclient: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("gwclient: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("gwclient: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("gwclient: read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		var eb wire.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			e.ErrorDetail = eb.Error
		} else {
			// Not the gateway's error shape (a proxy in between, say).
			e.Code, e.Message = "http_"+fmt.Sprint(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("gwclient: decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Submit sends an encoded transaction. A CheckTx refusal is an *Error with
// Code wire.ErrTxRejected and the application's code in ABCICode.
func (c *Client) Submit(ctx context.Context, raw []byte, mode wire.Mode) (*wire.SubmitResponse, error) {
	var out wire.SubmitResponse
	err := c.do(ctx, http.MethodPost, "/v1/tx",
		wire.SubmitRequest{Tx: base64.StdEncoding.EncodeToString(raw), Mode: mode}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Tx looks up a committed transaction by its hash (hex, as Submit returns
// it). A transaction not (yet) committed is an *Error with Code
// wire.ErrTxNotFound.
func (c *Client) Tx(ctx context.Context, hash string) (*wire.TxResponse, error) {
	var out wire.TxResponse
	if err := c.do(ctx, http.MethodGet, "/v1/tx/"+url.PathEscape(hash), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Query runs a public query. data is marshalled to JSON unless it is a
// json.RawMessage or []byte already; nil sends an empty body.
func (c *Client) Query(ctx context.Context, name string, data any) (*wire.QueryResponse, error) {
	return c.query(ctx, name, data, false)
}

// QueryProven runs a public query with ?prove=true: the answer carries the
// read-proof bundle of its rows, which the caller must verify
// (readproof.Verify) before trusting the answer.
func (c *Client) QueryProven(ctx context.Context, name string, data any) (*wire.QueryResponse, error) {
	return c.query(ctx, name, data, true)
}

func (c *Client) query(ctx context.Context, name string, data any, prove bool) (*wire.QueryResponse, error) {
	var out wire.QueryResponse
	if err := c.do(ctx, http.MethodPost, "/v1/query/"+url.PathEscape(name)+proveSuffix(prove), rawBody(data), &out); err != nil {
		return nil, err
	}
	if prove && out.Proof == nil {
		return nil, fmt.Errorf("gwclient: %s: the gateway sent no proof", name)
	}
	return &out, nil
}

func proveSuffix(prove bool) string {
	if prove {
		return "?prove=true"
	}
	return ""
}

// Proof fetches the read-proof bundle of a row key (or its absence), or of
// every row under prefix when key is nil, from GET /v1/proof. The bundle is
// unverified.
func (c *Client) Proof(ctx context.Context, key, prefix []byte) (*readproof.Bundle, error) {
	q := "key=" + hex.EncodeToString(key)
	if key == nil {
		q = "prefix=" + hex.EncodeToString(prefix)
	}
	var out readproof.Bundle
	if err := c.do(ctx, http.MethodGet, "/v1/proof?"+q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// rawBody passes ready JSON through unchanged.
func rawBody(data any) any {
	if b, ok := data.([]byte); ok {
		return json.RawMessage(b)
	}
	return data
}

// Challenge asks for a read challenge.
func (c *Client) Challenge(ctx context.Context) (*wire.ChallengeResponse, error) {
	var out wire.ChallengeResponse
	if err := c.do(ctx, http.MethodPost, "/v1/auth/challenge", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

var nodeIDPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// checkChallenge makes sure the text the gateway asks us to sign is a read
// challenge and nothing else: a hostile gateway could otherwise send a
// transaction's sign text and obtain a transaction signature.
func (c *Client) checkChallenge(ch *wire.ChallengeResponse) error {
	exp, err := time.Parse(time.RFC3339, ch.ExpiresAt)
	if err != nil {
		return fmt.Errorf("gwclient: challenge expires_at %q: %w", ch.ExpiresAt, err)
	}
	if b, err := hex.DecodeString(ch.Challenge); err != nil || len(b) != 32 {
		return fmt.Errorf("gwclient: challenge %q is not 32 bytes of hex", ch.Challenge)
	}
	lines := strings.Split(ch.Message, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "Node: ") {
		return errors.New("gwclient: challenge message is not a read challenge")
	}
	node := strings.TrimPrefix(lines[1], "Node: ")
	if !nodeIDPattern.MatchString(node) || (c.NodeID != "" && node != c.NodeID) {
		return fmt.Errorf("gwclient: challenge names node %q", node)
	}
	if ch.Message != wire.ChallengeMessage(node, ch.Challenge, exp) {
		return errors.New("gwclient: challenge message is not a read challenge")
	}
	return nil
}

// Private runs a private query as signer: it asks for a challenge, checks
// the text, signs it and sends the query. data is as for Query; nil means {}.
func (c *Client) Private(ctx context.Context, name string, signer auth.Signer, data any) (*wire.QueryResponse, error) {
	return c.private(ctx, name, signer, data, false)
}

// PrivateProven runs a private query with ?prove=true; see QueryProven.
func (c *Client) PrivateProven(ctx context.Context, name string, signer auth.Signer, data any) (*wire.QueryResponse, error) {
	return c.private(ctx, name, signer, data, true)
}

// PrivatePage asks a page of a private read's proven range
// (docs/spec/read-proofs.md, "Pages"): after is the previous page's last
// key (nil for the first), height the first page's (0 for the first), limit
// the rows per page (0 for the node's maximum). The answer's Proof is the
// page; its Value is empty.
func (c *Client) PrivatePage(ctx context.Context, name string, signer auth.Signer, data any, after []byte, height int64, limit int) (*wire.QueryResponse, error) {
	q := url.Values{"prove": {"true"}, "page": {"true"}}
	if after != nil {
		q.Set("after", hex.EncodeToString(after))
		q.Set("height", strconv.FormatInt(height, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return c.privateAt(ctx, name, signer, data, "?"+q.Encode())
}

func (c *Client) private(ctx context.Context, name string, signer auth.Signer, data any, prove bool) (*wire.QueryResponse, error) {
	return c.privateAt(ctx, name, signer, data, proveSuffix(prove))
}

func (c *Client) privateAt(ctx context.Context, name string, signer auth.Signer, data any, query string) (*wire.QueryResponse, error) {
	ch, err := c.Challenge(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.checkChallenge(ch); err != nil {
		return nil, err
	}
	sig, err := signer.Sign([]byte(ch.Message))
	if err != nil {
		return nil, fmt.Errorf("gwclient: sign challenge: %w", err)
	}
	req := struct {
		Auth wire.PrivateAuth `json:"auth"`
		Data any              `json:"data,omitempty"`
	}{
		Auth: wire.PrivateAuth{
			Challenge: ch.Challenge,
			Scheme:    signer.Scheme(),
			Signer:    hex.EncodeToString(signer.SignerID()),
			Signature: hex.EncodeToString(sig),
		},
		Data: rawBody(data),
	}
	var out wire.QueryResponse
	if err := c.do(ctx, http.MethodPost, "/v1/private/"+url.PathEscape(name)+query, req, &out); err != nil {
		return nil, err
	}
	if query != "" && out.Proof == nil {
		return nil, fmt.Errorf("gwclient: %s: the gateway sent no proof", name)
	}
	return &out, nil
}
