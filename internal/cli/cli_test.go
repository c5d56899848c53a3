package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"promo/codegen"
)

// run runs the CLI and returns its exit code, stdout and stderr.
func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunScenarios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		args       []string
		exit       int
		stdout     []string // fragments stdout must hold
		stderr     []string // fragments stderr must hold
		noStdout   bool
		stdoutLine int // lines on stdout, when > 0
	}{
		{name: "no arguments", args: nil, exit: ExitUsage, stderr: []string{"Usage:", "codes generate"}},
		{name: "help", args: []string{"help"}, exit: ExitOK, stdout: []string{"codes check", "version"}},
		{name: "help of a command", args: []string{"help", "codes", "generate"}, exit: ExitOK, stderr: []string{"-count", "-explain", "-check-char", "Usage: promo codes generate"}},
		{name: "version", args: []string{"version"}, exit: ExitOK, stdout: []string{"promo dev", "go1."}},
		{name: "unknown command", args: []string{"frobnicate"}, exit: ExitUsage, stderr: []string{`unknown command "frobnicate"`}},
		{name: "codes without subcommand", args: []string{"codes"}, exit: ExitUsage, stderr: []string{"promo codes generate"}},

		{name: "generate", args: []string{"codes", "generate", "--count", "5"}, exit: ExitOK, stdoutLine: 5},
		{name: "generate with pattern", args: []string{"codes", "generate", "--count", "3", "--pattern", "SUM-####", "--check-char"}, exit: ExitOK, stdout: []string{"SUM-"}, stdoutLine: 3, stderr: []string{"warning: codes are guessable"}},
		{name: "explain", args: []string{"codes", "generate", "--count", "10000000", "--pattern", "SUM-####-####", "--explain"}, exit: ExitOK, stdout: []string{"31^8 = 852,891,037,441", "1.17e-05", "verdict       guessable"}},
		{name: "explain refused", args: []string{"codes", "generate", "--count", "100000000", "--pattern", "SUM-####-####", "--explain"}, exit: ExitFailure, stdout: []string{"verdict       refused"}, stderr: []string{"at least 9 random characters"}},
		{name: "unsafe", args: []string{"codes", "generate", "--count", "1000", "--length", "3"}, exit: ExitFailure, noStdout: true, stderr: []string{"unsafe code config", "31^3", "at least 5 random characters"}},
		{name: "raised bound", args: []string{"codes", "generate", "--count", "1000", "--length", "3", "--max-density", "0.1"}, exit: ExitOK, stdoutLine: 1000},
		{name: "no count", args: []string{"codes", "generate"}, exit: ExitUsage, noStdout: true, stderr: []string{"--count must be"}},
		{name: "negative count", args: []string{"codes", "generate", "--count", "-4"}, exit: ExitUsage, noStdout: true},
		{name: "count not a number", args: []string{"codes", "generate", "--count", "many"}, exit: ExitUsage, noStdout: true, stderr: []string{"invalid value"}},
		{name: "unknown flag", args: []string{"codes", "generate", "--count", "3", "--colour"}, exit: ExitUsage, noStdout: true, stderr: []string{"flag provided but not defined"}},
		{name: "pattern and length", args: []string{"codes", "generate", "--count", "3", "--pattern", "####", "--length", "4"}, exit: ExitUsage, noStdout: true, stderr: []string{"exclude each other"}},
		{name: "both charsets", args: []string{"codes", "generate", "--count", "3", "--charset", "numbers", "--charset-custom", "abc"}, exit: ExitUsage, noStdout: true},
		{name: "unknown charset", args: []string{"codes", "generate", "--count", "3", "--charset", "emoji"}, exit: ExitUsage, noStdout: true, stderr: []string{`unknown charset "emoji"`, "unambiguous"}},
		{name: "separator in custom charset", args: []string{"codes", "generate", "--count", "3", "--charset-custom", "abc-", "--pattern", "##-##"}, exit: ExitUsage, noStdout: true, stderr: []string{"separator '-' is also in the charset"}},
		{name: "pattern without placeholder", args: []string{"codes", "generate", "--count", "3", "--pattern", "SUMMER"}, exit: ExitUsage, noStdout: true, stderr: []string{"at least one random character"}},
		{name: "bad format", args: []string{"codes", "generate", "--count", "3", "--format", "xml"}, exit: ExitUsage, noStdout: true},
		{name: "stray argument", args: []string{"codes", "generate", "--count", "3", "extra"}, exit: ExitUsage, noStdout: true},
		{name: "missing exclude file", args: []string{"codes", "generate", "--count", "3", "--exclude", "/nonexistent/codes.txt"}, exit: ExitFailure, noStdout: true},

		{name: "check ok", args: []string{"codes", "check", " sum-abcd efgh", "--pattern", "SUM-####-####"}, exit: ExitOK, stdout: []string{"ok:        SUM-ABCD-EFGH", "canonical: SUMABCDEFGH"}},
		{name: "check flags first", args: []string{"codes", "check", "--pattern", "SUM-####-####", "ＳＵＭ－ＡＢＣＤ－ＥＦＧＨ"}, exit: ExitOK, stdout: []string{"canonical: SUMABCDEFGH"}},
		{name: "check ambiguous character", args: []string{"codes", "check", "SUM-AB0D-EFGH", "--pattern", "SUM-####-####"}, exit: ExitFailure, stdout: []string{"character 6, '0', is not in the unambiguous charset", "reason:    not_in_charset"}},
		{name: "check look-alike", args: []string{"codes", "check", "SUM-ABCD-EFGН", "--pattern", "SUM-####-####"}, exit: ExitFailure, stdout: []string{"not a Latin letter", "invalid_character"}},
		{name: "check bad check character", args: []string{"codes", "check", "SUM-ABCD-EFGH-2", "--pattern", "SUM-####-####", "--check-char"}, exit: ExitFailure, stdout: []string{"check character does not match", "reason:    check_character"}},
		{name: "check without code", args: []string{"codes", "check", "--pattern", "####"}, exit: ExitUsage, stderr: []string{"want exactly one CODE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exit, stdout, stderr := run(t, t.Context(), tc.args...)
			if exit != tc.exit {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", exit, tc.exit, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not hold %q:\n%s", want, stdout)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not hold %q:\n%s", want, stderr)
				}
			}
			if tc.noStdout && stdout != "" {
				t.Errorf("stdout should be empty, is:\n%s", stdout)
			}
			if tc.stdoutLine > 0 {
				if lines := strings.Count(stdout, "\n"); lines != tc.stdoutLine {
					t.Errorf("%d lines on stdout, want %d", lines, tc.stdoutLine)
				}
			}
		})
	}
}

func TestGenerateToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, format := range []string{"txt", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, "codes."+format)
			const n = 20_000
			exit, stdout, stderr := run(t, t.Context(), "codes", "generate", "--count", "20000", "--pattern", "SPRING-####-####",
				"--charset-custom", "ab,\"cdefghijk", "--check-char", "--format", format, "-o", path)
			if exit != ExitOK || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", exit, stdout, stderr)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			switch format {
			case "txt":
				codes = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			case "csv":
				records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if records[0][0] != "code" {
					t.Fatalf("header %v", records[0])
				}
				for _, r := range records[1:] {
					codes = append(codes, r[0])
				}
			case "json":
				if err := json.Unmarshal(data, &codes); err != nil {
					t.Fatal(err)
				}
			}
			f, err := codegen.Compile(codegen.Config{Pattern: "SPRING-####-####", Charset: "ab,\"cdefghijk", CheckChar: true})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, c := range codes {
				canonical, err := f.Parse(c)
				if err != nil || seen[canonical] {
					t.Fatalf("code %q: %v (seen before: %v)", c, err, seen[canonical])
				}
				seen[canonical] = true
			}
			if len(seen) != n {
				t.Fatalf("%d codes, want %d", len(seen), n)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".codes."+format+"*")); len(leftovers) > 0 {
				t.Fatalf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestGenerateWritesNothingOnFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "codes.txt")

	exit, _, _ := run(t, t.Context(), "codes", "generate", "--count", "1000", "--length", "2", "-o", path)
	if exit != ExitFailure {
		t.Fatalf("unsafe config: exit %d", exit)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel() // as if interrupted at once
	exit, _, stderr := run(t, ctx, "codes", "generate", "--count", "1000000", "-o", path)
	if exit != ExitFailure || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("interrupted: exit %d, stderr %q", exit, stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("files left behind: %v, %v", entries, err)
	}
}

func TestGenerateWritesThroughSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.txt"), filepath.Join(dir, "link.txt")
	if err := os.WriteFile(target, []byte("old content that is longer than the codes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if exit, _, stderr := run(t, t.Context(), "codes", "generate", "--count", "3", "-o", link); exit != ExitOK {
		t.Fatalf("exit %d: %s", exit, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", fi, err)
	}
	data, err := os.ReadFile(target)
	if err != nil || len(strings.Fields(string(data))) != 3 || strings.Contains(string(data), "old") {
		t.Fatalf("target holds %q, %v; want 3 codes", data, err)
	}
}

func TestGenerateExcludesExistingCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := filepath.Join(dir, "first.txt")
	args := []string{"codes", "generate", "--charset", "numbers", "--length", "3", "--max-density", "1"}
	if exit, _, stderr := run(t, t.Context(), append(args, "--count", "600", "-o", first)...); exit != ExitOK {
		t.Fatalf("first batch: %s", stderr)
	}
	exit, stdout, stderr := run(t, t.Context(), append(args, "--count", "400", "--exclude", first)...)
	if exit != ExitOK {
		t.Fatalf("second batch: %s", stderr)
	}
	data, _ := os.ReadFile(first)
	all := strings.Fields(string(data) + stdout)
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c] {
			t.Fatalf("%q in both batches", c)
		}
		seen[c] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct codes, want the whole space of 1000", len(seen))
	}
	// The space is full now: asking for one more is refused, not looped on.
	if err := os.WriteFile(first, []byte(strings.Join(all, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	exit, _, stderr = run(t, t.Context(), append(args, "--count", "1", "--exclude", first)...)
	if exit != ExitFailure || !strings.Contains(stderr, "unsafe") {
		t.Fatalf("full space: exit %d, %s", exit, stderr)
	}
}
