package plugins

import (
	"runtime"
	"syscall"
)

// backgroundPriority runs the calling goroutine, until it exits, on an OS
// thread of the lowest scheduling priority (nice 19), so that a background
// check yields the CPU to consensus on a busy machine. On Linux the nice
// value is per thread; the goroutine keeps the thread locked, and Go
// discards a thread whose goroutine exits locked, so the priority never
// reaches other goroutines. Failing to lower it only costs speed.
func backgroundPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
