//go:build linux

package devnet

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes a node die with the supervisor and keeps it out of the
// terminal's process group.
//
// Pdeathsig fires when the thread that forked the child exits. Go only
// ends threads of goroutines that exit while locked to their thread, which
// the supervisor never does, so in practice this means "when the
// supervisor process dies", including by SIGKILL.
//
// Setpgid keeps a terminal's Ctrl-C from reaching the nodes directly: the
// supervisor alone decides when and how they stop.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGTERM,
		Setpgid:   true,
	}
}
