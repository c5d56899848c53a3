//go:build !unix

package cli

// lockDataDir does nothing where flock(2) does not exist: running two
// servers on one data directory is then the operator's mistake to avoid.
func lockDataDir(dir string) (release func(), err error) { return func() {}, nil }
