// Package cli implements the promo command: its subcommands, flags and
// output. Run is the whole program, minus the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Exit codes of Run.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed, or refused its input
	ExitUsage   = 2 // the command line is wrong
)

// Version is the release version, set at build time with
// -ldflags "-X promo/internal/cli.Version=v1.2.3".
var Version = "dev"

const usage = `Promo is a self-hosted promotion code engine.

Usage:
  promo <command> [arguments]

Commands:
  serve            serve the API
  migrate          apply the store's migrations
  apikeys          create, list and revoke API keys
  blocklist        block customers and client IPs
  codes generate   generate unique, unguessable codes
  codes check      say whether a code is well formed, and why not
  version          print the version
  help             print this help, or a command's: promo help codes generate

Run "promo <command> -h" for a command's flags.
`

// Run runs the promo command with args (without the program name), writing to
// stdout and stderr, and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return Run(ctx, append(rest, "-h"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return ExitOK
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return ExitOK
	case "codes":
		return runCodes(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "apikeys":
		return runAPIKeys(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "blocklist":
		return runBlocklist(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "promo: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
}

func versionString() string {
	v := "promo " + Version
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// parse parses flags that may stand before, between or after positional
// arguments, and returns the positional ones. A flag error has already been
// printed, with the usage, to the flag set's output.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// flagExit turns a flag parsing error into an exit code: help is no failure.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// newFlagSet returns a flag set that reports errors to stderr with the given
// usage text followed by the flag defaults.
func newFlagSet(name, text string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, strings.TrimLeft(text, "\n"))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}
