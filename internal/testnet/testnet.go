// Package testnet holds helpers for tests that run the idosnode binary as
// real processes: building it once, picking free loopback ports, and
// driving a `devnet` supervisor process.
package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idos-network/idos-node/node/devnet"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Binary builds cmd/idosnode once per test process and returns its path.
// Call Cleanup from TestMain to remove it.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "idosnode-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "idosnode")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/idos-network/idos-node/cmd/idosnode")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build idosnode: %w\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// Cleanup removes the binary built by Binary.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Ports returns the first of n consecutive loopback TCP ports that are all
// free right now. The range is drawn at random so packages testing in
// parallel rarely probe the same ports, and below Linux's ephemeral range
// (ip_local_port_range, 32768 and up by default), so the kernel never hands
// one of them to an outgoing connection in the seconds before a node
// binds it (seen when nodes compile plugins at start).
func Ports(t testing.TB, n int) int {
	t.Helper()
	const lo, hi = 10000, 32000
	for range 100 {
		base := lo + rand.IntN(hi-lo-n)
		if rangeFree(base, n) {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports found", n)
	return 0
}

func rangeFree(base, n int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// DevnetPorts returns a base port whose whole devnet range is free.
func DevnetPorts(t testing.TB, validators int) int {
	return Ports(t, devnet.PortStride*validators)
}

// Command runs the binary to completion and returns its combined output
// and exit code.
func Command(t testing.TB, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("run %s %v: %v", bin, args, err)
		return "", -1
	}
}

// Devnet is a running `idosnode devnet` process.
type Devnet struct {
	Dir string
	cmd *exec.Cmd
	out *syncBuffer
	// exited is closed once the process has been reaped.
	exited chan struct{}
	err    error
}

// StartDevnet starts `bin devnet --dir dir args...`. The process is killed
// at test end if still running.
func StartDevnet(t testing.TB, bin, dir string, args ...string) *Devnet {
	t.Helper()
	d := &Devnet{Dir: dir, out: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"devnet", "--dir", dir}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		// Stop it as a user would (Ctrl-C), so the supervisor stops
		// every node and waits for them: a SIGKILL would leave the
		// nodes shutting down, still writing into their homes while the
		// test removes them.
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-d.exited:
			case <-time.After(45 * time.Second):
				_ = d.cmd.Process.Kill()
				<-d.exited
			}
		}
		if t.Failed() {
			t.Logf("devnet output:\n%s", d.Output())
		}
	})
	return d
}

// Output is everything the supervisor printed so far.
func (d *Devnet) Output() string { return d.out.String() }

// Manifest waits for the devnet's manifest, which exists once the network
// is created.
func (d *Devnet) Manifest(ctx context.Context) (*devnet.Manifest, error) {
	for {
		m, err := devnet.LoadManifest(d.Dir)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devnet manifest: %w", ctx.Err())
		case <-d.exited:
			return nil, fmt.Errorf("devnet exited before creating its manifest: %v", d.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Clients returns CometBFT RPC clients for every node.
func (d *Devnet) Clients(ctx context.Context) ([]*rpchttp.HTTP, error) {
	m, err := d.Manifest(ctx)
	if err != nil {
		return nil, err
	}
	var cs []*rpchttp.HTTP
	for _, n := range m.Nodes {
		c, err := rpchttp.New(n.RPCURL(), "/websocket")
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// WaitHeight waits until every node reports a latest height >= min and
// returns the heights seen.
func (d *Devnet) WaitHeight(ctx context.Context, min int64) ([]int64, error) {
	cs, err := d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	heights := make([]int64, len(cs))
	for {
		done := true
		for i, c := range cs {
			if heights[i] >= min {
				continue
			}
			st, err := c.Status(ctx)
			if err == nil {
				heights[i] = st.SyncInfo.LatestBlockHeight
			}
			if heights[i] < min {
				done = false
			}
		}
		if done {
			return heights, nil
		}
		select {
		case <-ctx.Done():
			return heights, fmt.Errorf("heights %v, want all >= %d: %w", heights, min, ctx.Err())
		case <-d.exited:
			return heights, fmt.Errorf("devnet exited while waiting for height %d: %v", min, d.err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Interrupt sends SIGINT, as Ctrl-C does.
func (d *Devnet) Interrupt() error { return d.cmd.Process.Signal(syscall.SIGINT) }

// Signal sends sig to the supervisor.
func (d *Devnet) Signal(sig os.Signal) error { return d.cmd.Process.Signal(sig) }

// Wait waits for the supervisor to exit and returns its exit code.
func (d *Devnet) Wait(timeout time.Duration) (int, error) {
	select {
	case <-d.exited:
	case <-time.After(timeout):
		return -1, fmt.Errorf("devnet still running after %s", timeout)
	}
	var exit *exec.ExitError
	switch {
	case d.err == nil:
		return 0, nil
	case errors.As(d.err, &exit):
		return exit.ExitCode(), nil
	default:
		return -1, d.err
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TempDir is t.TempDir for in-process nodes. CometBFT's address book
// writes config/addrbook.json from a goroutine that outlives Node.Stop and
// cannot be waited for, which makes t.TempDir's cleanup fail with
// "directory not empty"; this removes the directory with retries instead.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "idos-"+sanitize(t.Name())+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for range 20 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("remove %s: %v", dir, err)
	})
	return dir
}

func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ChildPIDs lists the supervisor's child processes (the nodes), from
// Linux's /proc; tests use it to kill one node.
func (d *Devnet) ChildPIDs() ([]int, error) {
	pid := d.cmd.Process.Pid
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err != nil {
			continue // the thread exited meanwhile
		}
		for _, f := range bytes.Fields(data) {
			if p, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids, nil
}
