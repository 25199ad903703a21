//go:build !linux

package devnet

import "os/exec"

// setProcAttr has no parent-death signal outside Linux; nodes outlive a
// supervisor that is killed without the chance to stop them.
func setProcAttr(cmd *exec.Cmd) {}
