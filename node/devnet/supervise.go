package devnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/idos-network/idos-node/node/userclient"
)

// LogFile is each node's log, inside its home.
const LogFile = "node.log"

// WasmCacheDir is the folder under the devnet directory holding the
// compiled plugin code all its nodes share (idosnode start --wasm-cache).
const WasmCacheDir = "wasm-cache"

// RunOptions configures Run.
type RunOptions struct {
	// Executable is the idosnode binary to run as `start --home DIR`;
	// empty means this process's own executable.
	Executable string
	// Out receives the address table and the console summary: error
	// lines of the nodes, prefixed with the node name. Nil means stdout.
	Out io.Writer
	// Logger reports supervision events; nil discards them.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for every gateway to answer; zero means
	// one minute.
	ReadyTimeout time.Duration
	// StopTimeout bounds the wait after SIGTERM before SIGKILL; zero means
	// 30 seconds.
	StopTimeout time.Duration
}

// ErrNodeDied is returned by Run when a node exits while the network runs.
var ErrNodeDied = errors.New("devnet node exited unexpectedly")

type child struct {
	node   Node
	home   string
	cmd    *exec.Cmd
	logf   *os.File
	exited chan struct{} // closed after cmd.Wait returns
	err    error         // cmd.Wait's result, valid after exited
}

// Run starts one `start` process per node of m (whose homes are in dir),
// prints the address table once every gateway is healthy, and supervises
// the processes until ctx is cancelled. It then stops them all with
// SIGTERM (SIGKILL after StopTimeout) and returns nil if all stopped
// cleanly. If a node exits on its own, Run stops the others and returns an
// error wrapping ErrNodeDied.
func Run(ctx context.Context, dir string, m *Manifest, opts RunOptions) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = time.Minute
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 30 * time.Second
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable: %w", err)
		}
		opts.Executable = exe
	}
	log := opts.Logger
	console := &lockedWriter{w: opts.Out}
	var stopping atomic.Bool

	// Every node compiles the bundled plugins at genesis; they share one
	// compilation cache, so only the first compiles. On a fresh cache, node
	// 0 starts alone and fills it while the others wait: four nodes
	// compiling the same modules at once on a small machine is what made
	// the first start slow.
	cacheDir := filepath.Join(dir, WasmCacheDir)
	_, statErr := os.Stat(cacheDir)
	freshCache := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create shared wasm cache: %w", err)
	}

	children := make([]*child, 0, len(m.Nodes))
	died := make(chan *child, len(m.Nodes))
	start := func(nodes []Node) error {
		for _, n := range nodes {
			c, err := startChild(opts.Executable, dir, cacheDir, n, console, &stopping)
			if err != nil {
				stopping.Store(true)
				return errors.Join(err, stopAll(children, opts.StopTimeout, log))
			}
			children = append(children, c)
			go func() {
				<-c.exited
				died <- c
			}()
			log.Info("started node", "node", n.Name, "pid", c.cmd.Process.Pid, "log", c.logf.Name())
		}
		return nil
	}
	rest := m.Nodes
	if freshCache && len(m.Nodes) > 1 {
		if err := start(m.Nodes[:1]); err != nil {
			return err
		}
		log.Info("compiling the bundled plugins once, in " + m.Nodes[0].Name + ", for all nodes")
		firstCtx, cancelFirst := context.WithTimeout(ctx, opts.ReadyTimeout)
		first := make(chan error, 1)
		go func() { first <- waitReady(firstCtx, m.ChainID, m.Nodes[:1]) }()
		var err error
		select {
		case err = <-first:
		case c := <-died:
			// Node 0 died while compiling: report it like a death later on.
			err = fmt.Errorf("%w: %s (%v); see %s", ErrNodeDied, c.node.Name, exitDescription(c.err), c.logf.Name())
			fmt.Fprintf(console, "\n!!! %s exited unexpectedly (%v); last lines of %s:\n%s",
				c.node.Name, exitDescription(c.err), c.logf.Name(), tail(c.logf.Name(), 15))
		}
		cancelFirst()
		if err != nil {
			stopping.Store(true)
			stopErr := stopAll(children, opts.StopTimeout, log)
			switch {
			case ctx.Err() != nil:
				return stopErr
			case errors.Is(err, ErrNodeDied):
				return errors.Join(err, stopErr)
			}
			return errors.Join(fmt.Errorf("devnet did not become ready within %s: %w", opts.ReadyTimeout, err), stopErr)
		}
		rest = m.Nodes[1:]
	}
	if err := start(rest); err != nil {
		return err
	}

	ready := make(chan error, 1)
	readyCtx, cancelReady := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancelReady()
	go func() { ready <- waitReady(readyCtx, m.ChainID, m.Nodes) }()

	var failure error
loop:
	for {
		select {
		case err := <-ready:
			ready = nil
			if err != nil {
				if ctx.Err() != nil {
					continue // interrupted while starting: stop below
				}
				failure = fmt.Errorf("devnet did not become ready within %s: %w", opts.ReadyTimeout, err)
				break loop
			}
			printTable(console, m, dir)
		case c := <-died:
			failure = fmt.Errorf("%w: %s (%v); see %s", ErrNodeDied, c.node.Name, exitDescription(c.err), c.logf.Name())
			fmt.Fprintf(console, "\n!!! %s exited unexpectedly (%v); last lines of %s:\n%s!!! stopping the devnet\n",
				c.node.Name, exitDescription(c.err), c.logf.Name(), tail(c.logf.Name(), 15))
			break loop
		case <-ctx.Done():
			break loop
		}
	}

	stopping.Store(true)
	log.Info("stopping devnet", "nodes", len(children))
	stopErr := stopAll(children, opts.StopTimeout, log)
	if failure != nil {
		return errors.Join(failure, stopErr)
	}
	return stopErr
}

func startChild(exe, dir, cacheDir string, n Node, console io.Writer, stopping *atomic.Bool) (*child, error) {
	h := filepath.Join(dir, n.Name)
	// Appended to, so a resumed network keeps the earlier runs' logs.
	logf, err := os.OpenFile(filepath.Join(h, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", n.Name, err)
	}
	cmd := exec.Command(exe, "start", "--home", h, "--wasm-cache", cacheDir)
	out := &summaryWriter{file: logf, console: console, prefix: "[" + n.Name + "] ", stopping: stopping}
	cmd.Stdout = out
	cmd.Stderr = out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", n.Name, err)
	}
	c := &child{node: n, home: h, cmd: cmd, logf: logf, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		out.flush()
		logf.Close()
		close(c.exited)
	}()
	return c, nil
}

// stopAll sends SIGTERM to every running child, waits up to timeout, then
// SIGKILLs the rest. It reports children that did not exit cleanly.
func stopAll(children []*child, timeout time.Duration, log *slog.Logger) error {
	for _, c := range children {
		select {
		case <-c.exited:
		default:
			if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
				log.Warn("signal node", "node", c.node.Name, "err", err)
			}
		}
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var errs []error
	for _, c := range children {
		select {
		case <-c.exited:
		case <-deadline.C:
			// The timer fired once; later children get no further grace.
			deadline.Reset(0)
			log.Warn("node did not stop in time; killing it", "node", c.node.Name, "timeout", timeout)
			_ = c.cmd.Process.Kill()
			<-c.exited
			errs = append(errs, fmt.Errorf("%s did not stop within %s and was killed", c.node.Name, timeout))
			continue
		}
		if c.err != nil {
			errs = append(errs, fmt.Errorf("%s: %s; see %s", c.node.Name, exitDescription(c.err), c.logf.Name()))
		} else {
			log.Info("node stopped", "node", c.node.Name)
		}
	}
	return errors.Join(errs...)
}

// waitReady polls every node's gateway /v1/status until each answers as
// that node: the devnet's chain id and the node's own id. Any other answer
// on the port (another program, a node of another network) is not ready.
func waitReady(ctx context.Context, chainID string, nodes []Node) error {
	pending := append([]Node(nil), nodes...)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := map[string]error{}
	for {
		rest := pending[:0]
		for _, n := range pending {
			if err := checkIdentity(ctx, chainID, n); err != nil {
				if ctx.Err() == nil || last[n.Name] == nil {
					// Keep the last answer, not the deadline cutting a request.
					last[n.Name] = err
				}
				rest = append(rest, n)
			}
		}
		pending = rest
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			errs := make([]error, len(pending))
			for i, n := range pending {
				errs[i] = fmt.Errorf("%s: %w", n.Name, last[n.Name])
			}
			return fmt.Errorf("%w: %w", ctx.Err(), errors.Join(errs...))
		case <-tick.C:
		}
	}
}

// ErrWrongNode is a gateway answering /v1/status with another chain id or
// node id than the devnet's node on that port.
var ErrWrongNode = errors.New("another node or program answers on the port")

// checkIdentity asks n's gateway for /v1/status and checks that the answer
// names the devnet's chain and n's node id.
func checkIdentity(ctx context.Context, chainID string, n Node) error {
	reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := userclient.Status(reqCtx, n.GatewayURL())
	if err != nil {
		return err
	}
	if st.ChainID != chainID || st.NodeID != n.NodeID {
		return fmt.Errorf("%w: %s answers chain %q node %q, want chain %q node %q",
			ErrWrongNode, n.GatewayURL(), st.ChainID, st.NodeID, chainID, n.NodeID)
	}
	return nil
}

func printTable(w io.Writer, m *Manifest, dir string) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\ndevnet %s: %d validators running (logs in %s/nodeN/%s); Ctrl-C stops it\n\n", m.ChainID, len(m.Nodes), dir, LogFile)
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRPC\tGATEWAY\tP2P\tNODE ID")
	for _, n := range m.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.RPCURL(), n.GatewayURL(), n.P2PAddr, n.NodeID)
	}
	tw.Flush()
	buf.WriteString("\n")
	_, _ = w.Write(buf.Bytes())
}

func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// tail returns the last n lines of a file, for a dead node's post-mortem.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)\n", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// summaryWriter copies a node's output to its log file and echoes its
// error lines to the console, so problems are visible without tailing four
// files. While the devnet stops, peers disconnecting log errors by design,
// so the echo is muted then.
type summaryWriter struct {
	file     io.Writer
	console  io.Writer
	prefix   string
	stopping *atomic.Bool
	partial  []byte
}

func (s *summaryWriter) Write(p []byte) (int, error) {
	if _, err := s.file.Write(p); err != nil {
		return 0, err
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.echo(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	// Bound memory if a child writes a huge line without newline.
	if len(s.partial) > 64<<10 {
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *summaryWriter) flush() {
	if len(s.partial) > 0 {
		s.echo(s.partial)
		s.partial = nil
	}
}

func (s *summaryWriter) echo(line []byte) {
	if s.stopping.Load() || !isErrorLine(line) || isPeerNoise(line) {
		return
	}
	_, _ = fmt.Fprintf(s.console, "%s%s\n", s.prefix, line)
}

// isErrorLine recognises error lines of slog's text and JSON handlers, and
// Go panics and fatal errors, which bypass the logger.
func isErrorLine(line []byte) bool {
	return bytes.Contains(line, []byte("level=ERROR")) ||
		bytes.Contains(line, []byte(`"level":"ERROR"`)) ||
		bytes.HasPrefix(line, []byte("panic:")) ||
		bytes.HasPrefix(line, []byte("fatal error:")) ||
		bytes.HasPrefix(line, []byte("Error:"))
}

// isPeerNoise recognises CometBFT's peer errors that are normal while a
// network starts or a peer restarts: dialing a peer that does not listen
// yet, and dropping a connection its other end closed (then stopping it
// twice). CometBFT logs them
// at ERROR; they stay in the node's log file but not on the devnet's
// console. Other peer errors are still shown.
func isPeerNoise(line []byte) bool {
	if bytes.Contains(line, []byte("Error dialing peer")) {
		return true
	}
	if bytes.Contains(line, []byte("error while stopping peer")) && bytes.Contains(line, []byte("already stopped")) {
		return true
	}
	return bytes.Contains(line, []byte("Stopping peer for error")) &&
		(bytes.Contains(line, []byte("err=EOF")) || bytes.Contains(line, []byte(`"err":"EOF"`)) ||
			bytes.Contains(line, []byte("connection reset by peer")))
}
