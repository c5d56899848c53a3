// Command promo is the Promo promotion code engine. See "promo help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"promo/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
