//go:build unix

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir makes this process the only promo serve of the data
// directory dir: it holds an exclusive lock on dir/serve.lock until release
// is called or the process ends (the kernel drops the lock of a killed
// process). The embedded store caches what it reads and takes over async
// actions on start, both of which assume no other server shares its file;
// short commands such as promo apikeys do not take the lock.
func lockDataDir(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another promo serve", dir)
		}
		return nil, fmt.Errorf("data directory: lock: %w", err)
	}
	return func() { f.Close() }, nil
}
