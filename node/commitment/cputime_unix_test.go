//go:build unix

package commitment

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used (user + system, all
// threads, so the garbage collector's work counts). On a shared machine it
// measures the work done, where wall time also counts the waits for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
