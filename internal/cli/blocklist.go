package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

const blocklistUsage = `Usage:
  promo blocklist add --kind KIND --value VALUE [--reason TEXT] [--json] [--data-dir DIR | --database URL]
  promo blocklist list [--json] [--data-dir DIR | --database URL]
  promo blocklist remove ID [--data-dir DIR | --database URL]

Keeps customers and client IPs from validating and redeeming codes. KIND is
customer_id, customer_source_id, customer_email or ip (an address or a
prefix such as 203.0.113.0/24). Running servers see a change within two
seconds.

Environment: PROMO_DATA_DIR, PROMO_DATABASE_URL (flags win).
`

func runBlocklist(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, blocklistUsage)
		return ExitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, blocklistUsage)
		return ExitOK
	case "add", "list", "remove":
	default:
		fmt.Fprintf(stderr, "promo blocklist: unknown command %q\n\n%s", cmd, blocklistUsage)
		return ExitUsage
	}
	fs := newFlagSet("promo blocklist "+cmd, blocklistUsage, stderr)
	sf := addStoreFlags(fs)
	kind := fs.String("kind", "", "what VALUE names (add)")
	value := fs.String("value", "", "the customer or IP to block (add)")
	reason := fs.String("reason", "", "why (add)")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	want := 0
	if cmd == "remove" {
		want = 1
	}
	if len(rest) != want {
		fmt.Fprint(stderr, blocklistUsage)
		return ExitUsage
	}
	store, err := sf.open(ctx, true)
	if err != nil {
		fmt.Fprintf(stderr, "promo blocklist: %v\n", err)
		return ExitFailure
	}
	defer store.Close()
	eng := engine.New(store, engine.Options{})
	ctx = promo.NewContextWithAPIKey(ctx, "cli")
	switch cmd {
	case "add":
		b, err := eng.AddBlock(ctx, promo.BlockEntry{Kind: *kind, Value: *value, Reason: *reason})
		if err != nil {
			fmt.Fprintf(stderr, "promo blocklist add: %v\n", err)
			return ExitFailure
		}
		if *asJSON {
			writeJSONLine(stdout, b)
		} else {
			fmt.Fprintf(stdout, "blocked %s %s (%s)\n", b.Kind, b.Value, b.ID)
		}
	case "list":
		list, err := store.Blocklist(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "promo blocklist list: %v\n", err)
			return ExitFailure
		}
		if *asJSON {
			if list == nil {
				list = []*promo.BlockEntry{}
			}
			writeJSONLine(stdout, list)
			break
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tVALUE\tCREATED\tREASON")
		for _, b := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.ID, b.Kind, b.Value, b.CreatedAt.Format(time.RFC3339), b.Reason)
		}
		tw.Flush()
	case "remove":
		if err := eng.RemoveBlock(ctx, rest[0]); err != nil {
			fmt.Fprintf(stderr, "promo blocklist remove: %v\n", err)
			return ExitFailure
		}
		fmt.Fprintf(stdout, "removed %s\n", rest[0])
	}
	return ExitOK
}
