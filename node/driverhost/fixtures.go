package driverhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/idos-network/idos-node/node/observation"
)

// Fixture is one recorded JSON-RPC exchange: the request's method and
// params and the response's result or error object. Fixtures let a driver
// run offline (idosnode driver test) against what a real node answered.
type Fixture struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

// FixtureFile is the file a fixture directory holds.
const FixtureFile = "fixtures.json"

// Recorder wraps a Transport and records every exchange, in order.
type Recorder struct {
	Next Transport
	mu   sync.Mutex
	fx   []Fixture
}

// Transport is the recording transport.
func (r *Recorder) Transport(ctx context.Context, endpoint string, body []byte) ([]byte, error) {
	resp, err := r.Next(ctx, endpoint, body)
	if err != nil {
		return nil, err
	}
	var req struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &req) == nil && json.Unmarshal(resp, &env) == nil {
		r.mu.Lock()
		r.fx = append(r.fx, Fixture{req.Method, compact(req.Params), compact(env.Result), compact(env.Error)})
		r.mu.Unlock()
	}
	return resp, nil
}

// Save writes the recorded exchanges to dir/fixtures.json.
func (r *Recorder) Save(dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := json.MarshalIndent(r.fx, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, FixtureFile), append(b, '\n'), 0o644)
}

// Errors of Replay: a request never recorded (the driver or its
// configuration asks for something the recording does not hold), and one
// whose recorded answers are used up (the recorded session is over).
var (
	ErrNoFixture    = errors.New("driverhost: no fixture for request")
	ErrFixturesDone = errors.New("driverhost: recorded answers used up")
)

// Replay returns a Transport answering from the fixtures in dir: each
// request gets the next recorded answer to the same method and params, in
// the order they were recorded; once they are used up, ErrNoFixture. Replaying
// the polls of a recording in order (PollFixtures) sees the chain as the
// recording did.
func Replay(dir string) (Transport, error) {
	b, err := os.ReadFile(filepath.Join(dir, FixtureFile))
	if err != nil {
		return nil, err
	}
	var fx []Fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		return nil, fmt.Errorf("%s: %w", FixtureFile, err)
	}
	var mu sync.Mutex
	queue := map[string][]Fixture{}
	for _, f := range fx {
		k := f.Method + string(compact(f.Params))
		queue[k] = append(queue[k], f)
	}
	return func(_ context.Context, _ string, body []byte) ([]byte, error) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		k := req.Method + string(compact(req.Params))
		mu.Lock()
		q, ok := queue[k]
		if len(q) == 0 {
			mu.Unlock()
			err := ErrNoFixture
			if ok {
				err = ErrFixturesDone
			}
			return nil, fmt.Errorf("%w: %s %s", err, req.Method, compact(req.Params))
		}
		f := q[0]
		queue[k] = q[1:]
		mu.Unlock()
		return json.Marshal(struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Result  json.RawMessage `json:"result,omitempty"`
			Error   json.RawMessage `json:"error,omitempty"`
		}{"2.0", req.ID, f.Result, f.Error})
	}, nil
}

func compact(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// PollFixtures polls d from cursor, at most maxPolls times, feeding each
// poll's cursor to the next, until a recorded request's answers are used
// up (d's Transport is a Replay): it returns every observation and the last
// cursor. ErrFixturesDone ends the session; any other error, ErrNoFixture
// included, is returned with what came before it.
func PollFixtures(ctx context.Context, d *Driver, cursor []byte, maxPolls int) ([]observation.Grant, []byte, error) {
	var all []observation.Grant
	for range maxPolls {
		obs, next, err := d.Poll(ctx, cursor)
		if errors.Is(err, ErrFixturesDone) {
			return all, cursor, nil
		}
		if err != nil {
			return all, cursor, err
		}
		all = append(all, obs...)
		cursor = next
	}
	return all, cursor, nil
}
