//go:build !linux

package plugins

// backgroundPriority leaves the priority alone where threads have no nice
// value of their own (see priority_linux.go).
func backgroundPriority() {}
