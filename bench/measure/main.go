// Command measure runs a command and prints its wall time and peak RSS.
//
// Usage:
//
//	measure -- cmd [args...]
//
// The command inherits measure's standard input, output and error. When it
// has finished, measure prints one line to standard output:
//
//	wall_s=0.372 maxrss_kb=10240 exit=0
//
// wall_s is the time from starting the command to reaping it, maxrss_kb is
// the ru_maxrss the kernel reports for it (kilobytes on Linux), and exit is
// its exit status, or 128+N if signal N killed it. measure then exits with
// that same status, so a failing command fails the caller too.
//
// Even a trivial command such as true reports a peak RSS of about 2 MB. It
// is meant for bench/codegen.sh, where it replaces /usr/bin/time, which is
// not installed everywhere.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: measure -- cmd [args...]")
		os.Exit(2)
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(127)
	}
	err := cmd.Wait()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}

	state := cmd.ProcessState
	code := state.ExitCode()
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	var maxrss int64
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss
	}
	fmt.Printf("wall_s=%.3f maxrss_kb=%d exit=%d\n", wall.Seconds(), maxrss, code)
	os.Exit(code)
}
