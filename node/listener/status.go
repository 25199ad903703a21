package listener

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StatusFile is the name of the status file in Listener.Dir: what the last
// round did per enabled chain, for `idosnode driver status --home`.
const StatusFile = "status.json"

// Status is the listener's last round as the status file records it.
type Status struct {
	// Updated is when the round ended (local clock; not consensus).
	Updated time.Time     `json:"updated"`
	Chains  []ChainStatus `json:"chains"`
}

// ChainStatus is one enabled chain as this node's listener sees it.
type ChainStatus struct {
	Chain    string `json:"chain"`
	Contract string `json:"contract"`
	// Skip says why the node does not poll the chain; empty when it does.
	Skip string `json:"skip,omitempty"`
	// Cursor is the saved cursor (the driver's own text; the EVM driver's
	// {"next":N} is the first block not read yet).
	Cursor string `json:"cursor"`
	// LastPoll and LastSuccess are the last round that polled the chain
	// and the last one that ended without error; LastError is the error
	// of the last poll (endpoint, driver or submission), if it failed.
	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Attested counts the observations submitted since the node started.
	Attested int `json:"attested"`
}

// saveStatus writes the status file atomically.
func (l *Listener) saveStatus(st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(l.Dir, "status.tmp*")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), filepath.Join(l.Dir, StatusFile))
}

// ErrNoStatus: the listener has not written a status file in the
// directory (the node never ran its listener there).
var ErrNoStatus = errors.New("listener: no status file")

// ReadStatus reads the status file of a listener directory.
func ReadStatus(dir string) (Status, error) {
	var st Status
	b, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("%w in %s", ErrNoStatus, dir)
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, StatusFile), err)
	}
	return st, nil
}
