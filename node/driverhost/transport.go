package driverhost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// Transport sends one JSON-RPC request body to an endpoint and returns the
// response body. It is the only way out of a driver.
type Transport func(ctx context.Context, endpoint string, body []byte) ([]byte, error)

// HTTPTransport posts to the endpoint URL with client (nil: a client with
// DefaultCallTimeout), reading at most MaxResponse+1024 bytes.
func HTTPTransport(client *http.Client) Transport {
	if client == nil {
		client = &http.Client{Timeout: DefaultCallTimeout}
	}
	return func(ctx context.Context, endpoint string, body []byte) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		}
		limit := int64(MaxResponse + 1024)
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%w: endpoint %s: response over %d bytes", ErrTooLarge, endpoint, limit)
		}
		return b, nil
	}
}
