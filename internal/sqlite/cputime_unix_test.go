//go:build unix

package sqlite

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, in user and kernel
// mode. Beside wall time it tells a benchmark's own cost from time lost to
// other processes on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
