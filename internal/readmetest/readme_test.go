// Package readmetest runs the shell examples of README.md and
// cmd/idoslight/README.md, so the READMEs are tested documents.
package readmetest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idos-network/idos-node/internal/testnet"
)

// The documents, in the order a reader goes through them.
var documents = []string{"README.md", "cmd/idoslight/README.md"}

// notRun are the lines the test does not run, by a substring of the line,
// and why. Every other line of every ```sh block runs and must exit 0.
var notRun = []struct{ contains, reason string }{
	{"go tool task test", "the whole suite, this test included (30 minutes)"},
	{"--id CRED_ID", "needs the id of a credential the reader removed; cmd/idoslight/README.md's run removes one and proves it"},
	{"plugin.wasm", "plugin.wasm stands for the reader's plugin; e2e_plugins_test proposes real ones"},
	{"plugin approve --home .devnet/node1 solana", "approves the proposal of the line above"},
	{"plugin remove", "removes the plugin approved above"},
	{"curl 'http://127.0.0.1:8545/v1/proof?key=HEX'", "HEX stands for a key the reader built"},
}

// Long-running commands start in the background; the test waits for them to
// be ready, runs the next lines, and stops them with SIGINT (a devnet when
// the next devnet starts or at the end, the others at the end of their
// block), asserting exit status 0.
var (
	devnetRe = regexp.MustCompile(`\bidosnode devnet\b`)
	startRe  = regexp.MustCompile(`\bidosnode start --home (\S+)`)
	proxyRe  = regexp.MustCompile(`\bidoslight proxy --listen (\S+)`)
	// Loopback ports in the documents are the devnet's (26600 + 10i + k),
	// the joining node's (267xx) and the proxy's (8545); the test moves
	// them to a free range: 266xx/267xx to base+xx, 8545 to base+300.
	portRe = regexp.MustCompile(`127\.0\.0\.1:(26[67]\d\d|8545)\b`)
)

type line struct {
	doc, text string
	block     int
}

// commands returns the lines of the ```sh blocks of doc, with backslash
// continuations joined.
func commands(t *testing.T, doc string, data []byte) []line {
	var out []line
	in, block := false, 0
	var cont string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case !in && strings.TrimSpace(l) == "```sh":
			in = true
			block++
			continue
		case in && strings.TrimSpace(l) == "```":
			in = false
			if cont != "" {
				t.Fatalf("%s: block %d ends in a continuation", doc, block)
			}
			continue
		case !in:
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		l = cont + l
		cont = ""
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, line{doc: doc, text: s, block: block})
		}
	}
	return out
}

// skipReason returns why a line is not run ("" to run it) and counts the
// use of each notRun entry, so that stale entries are noticed.
func skipReason(text string, used map[string]bool) string {
	for _, n := range notRun {
		if strings.Contains(text, n.contains) {
			used[n.contains] = true
			return n.reason
		}
	}
	return ""
}

// shell is one bash process that runs the lines in order, so variables and
// exports carry over as in a reader's terminal.
type shell struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	dir  string
	logs string
	n    int
}

func (s *shell) send(script string) {
	if _, err := io.WriteString(s.in, script+"\n"); err != nil {
		s.t.Fatalf("write to bash: %v", err)
	}
}

// result waits for the marker line "@@<tag> <value>".
func (s *shell) result(tag string, timeout time.Duration) string {
	got := make(chan string, 1)
	go func() {
		for s.out.Scan() {
			if v, ok := strings.CutPrefix(s.out.Text(), "@@"+tag+" "); ok {
				got <- v
				return
			}
		}
		got <- "EOF"
	}()
	select {
	case v := <-got:
		return v
	case <-time.After(timeout):
		s.t.Fatalf("no %s from bash within %s", tag, timeout)
		return ""
	}
}

// run runs a foreground line and returns its exit status and output.
func (s *shell) run(text string, timeout time.Duration) (int, string) {
	s.n++
	log := filepath.Join(s.logs, fmt.Sprintf("%03d.log", s.n))
	s.send(fmt.Sprintf("{ %s\n} </dev/null >%q 2>&1; echo \"@@RC $?\"", text, log))
	rc, err := strconv.Atoi(s.result("RC", timeout))
	if err != nil {
		s.t.Fatalf("%s: no exit status", text)
	}
	out, _ := os.ReadFile(log)
	return rc, string(out)
}

type bg struct {
	text, log string
	pid       int
	// stopped is what the program prints when it stops cleanly: `go run`
	// itself exits 1 on SIGINT whatever its program returns, so for a line
	// run with `go run` the test checks this instead of the exit status.
	stopped string
}

// background starts a long-running line as its own process group.
func (s *shell) background(text string) *bg {
	s.n++
	log := filepath.Join(s.logs, fmt.Sprintf("%03d.log", s.n))
	s.send(fmt.Sprintf("{ %s\n} </dev/null >%q 2>&1 &\necho \"@@PID $!\"", text, log))
	pid, err := strconv.Atoi(s.result("PID", 10*time.Second))
	if err != nil {
		s.t.Fatalf("%s: no pid", text)
	}
	return &bg{text: text, log: log, pid: pid}
}

func (b *bg) output() string {
	out, _ := os.ReadFile(b.log)
	return string(out)
}

// stop sends SIGINT to the job's process group, as Ctrl-C in a terminal
// does, and checks that it stopped cleanly.
func (s *shell) stop(b *bg) {
	_ = syscall.Kill(-b.pid, syscall.SIGINT)
	s.send(fmt.Sprintf("wait %d; echo \"@@RC $?\"", b.pid))
	rc, _ := strconv.Atoi(s.result("RC", time.Minute))
	if strings.HasPrefix(b.text, "go run ") {
		if !strings.Contains(b.output(), b.stopped) {
			s.t.Errorf("%s: no %q after SIGINT:\n%s", b.text, b.stopped, b.output())
		}
		return
	}
	if rc != 0 {
		s.t.Errorf("%s: exit %d after SIGINT:\n%s", b.text, rc, b.output())
	}
}

// waitFor polls ready until it holds, the job exits, or timeout.
func waitFor(t *testing.T, b *bg, timeout time.Duration, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ready() {
		if syscall.Kill(b.pid, 0) != nil {
			t.Fatalf("%s exited before %s:\n%s", b.text, what, b.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s within %s:\n%s", b.text, what, timeout, b.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var rpcLaddrRe = regexp.MustCompile(`(?s)\[rpc\].*?\nladdr = "tcp://([^"]+)"`)

// synced reports whether the CometBFT node of a home answers and has caught up.
func synced(home string) bool {
	cfg, err := os.ReadFile(filepath.Join(home, "config", "config.toml"))
	if err != nil {
		return false
	}
	m := rpcLaddrRe.FindSubmatch(cfg)
	if m == nil {
		return false
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + string(m[1]) + "/status")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"catching_up":false`) &&
		!strings.Contains(string(body), `"latest_block_height":"0"`)
}

// copyRepo copies the files git tracks (as they are in the work tree) into dst.
func copyRepo(t *testing.T, root, dst string) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestREADMECommands runs every shell line of the READMEs, as a reader
// would type it, on a copy of the repository, against the devnet the
// READMEs start. What the test changes, and why:
//   - HOME is a fresh directory per document (~/.idos, ~/.idoslight), and
//     GOBIN a temporary bin directory on PATH (go install ./cmd/...), so the
//     test writes nothing outside its temporary directory; GOPATH,
//     GOMODCACHE and GOCACHE keep their values;
//   - GOFLAGS=-trimpath, so the copy's packages are built once, not per
//     temporary path;
//   - loopback ports move to a free range (portRe), and `idosnode devnet`
//     gets --base-port accordingly, so the test runs beside other tests.
//
// Lines listed in notRun are not run; every other line must exit 0.
func TestREADMECommands(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("the READMEs use jq and curl: install them")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := testnet.TempDir(t)
	repo := filepath.Join(tmp, "repo")
	copyRepo(t, root, repo)
	base := testnet.Ports(t, 310)
	movePorts := func(s string) string {
		return portRe.ReplaceAllStringFunc(s, func(m string) string {
			p, _ := strconv.Atoi(strings.TrimPrefix(m, "127.0.0.1:"))
			if p == 8545 {
				return "127.0.0.1:" + strconv.Itoa(base+300)
			}
			return "127.0.0.1:" + strconv.Itoa(base+p-26600)
		})
	}
	logs := filepath.Join(tmp, "logs")
	bin := filepath.Join(tmp, "gobin")
	for _, d := range []string{logs, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir = repo
	// The Go caches stay where they are although HOME moves.
	goenv, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	ge := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(ge) != 3 {
		t.Fatalf("go env: %q", goenv)
	}
	cmd.Env = append(os.Environ(), "GOPATH="+ge[0], "GOMODCACHE="+ge[1], "GOCACHE="+ge[2],
		"GOBIN="+bin, "PATH="+bin+":"+os.Getenv("PATH"), "GOFLAGS=-trimpath")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sh := &shell{t: t, cmd: cmd, in: in, out: bufio.NewScanner(outp), dir: repo, logs: logs}
	var devnet *bg
	var others []*bg
	stopOthers := func() {
		for _, b := range others {
			sh.stop(b)
		}
		others = nil
	}
	t.Cleanup(func() {
		if devnet != nil {
			_ = syscall.Kill(-devnet.pid, syscall.SIGINT)
		}
		for _, b := range others {
			_ = syscall.Kill(-b.pid, syscall.SIGINT)
		}
		_ = in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
		}
	})
	sh.send("set -m") // background jobs get their own process group
	// Build first (a cold -trimpath build takes minutes), so the devnet's
	// readiness wait below measures the devnet, not the compiler.
	if rc, out := sh.run("go build ./cmd/...", 15*time.Minute); rc != 0 {
		t.Fatalf("go build ./cmd/... in the copy: exit %d:\n%s", rc, out)
	}

	ran, skipped := 0, 0
	used := map[string]bool{}
	for _, doc := range documents {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(tmp, "home-"+strings.ReplaceAll(doc, "/", "_"))
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		sh.send(fmt.Sprintf("export HOME=%q", home))
		block := 0
		for _, l := range commands(t, doc, data) {
			if l.block != block {
				stopOthers()
				block = l.block
			}
			where := fmt.Sprintf("%s block %d: %s", l.doc, l.block, l.text)
			if r := skipReason(l.text, used); r != "" {
				t.Logf("NOT RUN %s (%s)", where, r)
				skipped++
				continue
			}
			ran++
			text := movePorts(l.text)
			switch {
			case devnetRe.MatchString(text):
				if devnet != nil {
					sh.stop(devnet)
				}
				text = devnetRe.ReplaceAllString(text, "idosnode devnet --base-port "+strconv.Itoa(base))
				devnet = sh.background(text)
				devnet.stopped = "devnet stopped"
				want := "validators running"
				if strings.Contains(text, "--seed-demo") {
					want = "Demo data"
				}
				waitFor(t, devnet, 3*time.Minute, want, func() bool { return strings.Contains(devnet.output(), want) })
				// Peer-dialing noise stays in the nodes' logs. (Other ERROR
				// lines may appear on a resumed devnet: CometBFT refusing to
				// re-sign a vote after a restart, "step regression".)
				if out := devnet.output(); strings.Contains(out, "Error dialing peer") || strings.Contains(out, "Stopping peer for error") {
					t.Errorf("%s: peer noise on the console:\n%s", where, out)
				}
				t.Logf("ok (in the background) %s", where)
			case startRe.MatchString(text):
				h := startRe.FindStringSubmatch(text)[1]
				h = strings.Replace(h, "~", home, 1)
				b := sh.background(text)
				b.stopped = "node stopped"
				others = append(others, b)
				waitFor(t, b, 2*time.Minute, "a synced node", func() bool { return synced(h) })
				t.Logf("ok (in the background) %s", where)
			case proxyRe.MatchString(text):
				addr := proxyRe.FindStringSubmatch(text)[1]
				b := sh.background(text)
				others = append(others, b)
				waitFor(t, b, time.Minute, "a listening proxy", func() bool {
					c, err := net.DialTimeout("tcp", addr, time.Second)
					if err == nil {
						c.Close()
					}
					return err == nil
				})
				t.Logf("ok (in the background) %s", where)
			default:
				rc, out := sh.run(text, 5*time.Minute)
				if rc != 0 {
					t.Errorf("%s\nexit %d:\n%s", where, rc, out)
				} else {
					t.Logf("ok %s", where)
				}
			}
		}
		stopOthers()
	}
	if devnet != nil {
		sh.stop(devnet)
		devnet = nil
	}
	for _, n := range notRun {
		if !used[n.contains] {
			t.Errorf("notRun entry %q matches no line of the READMEs: remove it", n.contains)
		}
	}
	t.Logf("%d lines run, %d not run", ran, skipped)
}
