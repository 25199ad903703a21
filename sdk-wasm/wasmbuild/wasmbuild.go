// Package wasmbuild builds a signature plugin to a .wasm file with one fixed,
// reproducible command, so the bytes a chain ships can be rebuilt from source
// by anyone with the same Go toolchain (the go.mod toolchain).
package wasmbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Args are the go command's arguments for building the plugin package pkg
// (a directory or import path) to out.
func Args(out, pkg string) []string {
	return []string{
		"build",
		"-buildmode=c-shared",
		"-trimpath",
		"-buildvcs=false",
		"-ldflags=-s -w -buildid=",
		"-o", out,
		pkg,
	}
}

// Env is the environment of the build: the caller's, with every variable that
// changes the output pinned.
func Env() []string {
	return append(os.Environ(),
		"GOOS=wasip1",
		"GOARCH=wasm",
		"GOWASM=",
		"CGO_ENABLED=0",
		"GOFLAGS=-mod=readonly",
		"GOEXPERIMENT=",
		"GOTOOLCHAIN=local",
	)
}

// Command is the go build of pkg (run in dir) to out.
func Command(dir, out, pkg string) *exec.Cmd {
	cmd := exec.Command(goTool(), Args(out, pkg)...)
	cmd.Dir = dir
	cmd.Env = Env()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd
}

// Build builds pkg (run in dir) to out.
func Build(dir, out, pkg string) error {
	cmd := Command(dir, out, pkg)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wasmbuild: %v: %w", cmd.Args, err)
	}
	return nil
}

// goTool is the go command of the running toolchain when known (go run and
// go test set GOROOT), else "go" from PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
