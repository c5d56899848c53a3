package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

const apikeysUsage = `Usage:
  promo apikeys create [--name NAME] [--kind secret|restricted|client]
                       [--scopes S,S...] [--origins O,O...] [--json]
                       [--data-dir DIR | --database URL]
  promo apikeys list [--json] [--data-dir DIR | --database URL]
  promo apikeys revoke APP_ID [--data-dir DIR | --database URL]

Manages the API keys of the store (the embedded one in the data directory,
or PostgreSQL with --database); a running server sees changes within
seconds. create prints the new key's token once: only its hash is stored.

A secret key (the default) calls every /v1 route. A restricted key calls
the /v1 routes of its --scopes (campaigns, vouchers, customers, orders,
publications, validations, redemptions, validation_rules, async_actions,
attempts, blocklist). A client key is for browsers and apps: it calls the
/client/v1 routes from its --origins (https://shop.example, or * for any),
sent as X-Client-Application-Id and X-Client-Token.

Environment: PROMO_DATA_DIR, PROMO_DATABASE_URL (flags win).
`

func runAPIKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, apikeysUsage)
		return ExitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, apikeysUsage)
		return ExitOK
	case "create", "list", "revoke":
	default:
		fmt.Fprintf(stderr, "promo apikeys: unknown command %q\n\n%s", cmd, apikeysUsage)
		return ExitUsage
	}
	fs := newFlagSet("promo apikeys "+cmd, apikeysUsage, stderr)
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "a name for the key (create)")
	kind := fs.String("kind", promo.KeySecret, "secret, restricted or client (create)")
	scopes := fs.String("scopes", "", "comma-separated scopes of a restricted key (create)")
	origins := fs.String("origins", "", "comma-separated origins of a client key (create)")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	want := 0
	if cmd == "revoke" {
		want = 1
	}
	if len(rest) != want {
		fmt.Fprint(stderr, apikeysUsage)
		return ExitUsage
	}
	store, err := sf.open(ctx, true)
	if err != nil {
		fmt.Fprintf(stderr, "promo apikeys: %v\n", err)
		return ExitFailure
	}
	defer store.Close()
	eng := engine.New(store, engine.Options{})
	ctx = promo.NewContextWithAPIKey(ctx, "cli")
	switch cmd {
	case "create":
		k, token, err := eng.CreateKey(ctx, engine.KeyInput{Name: *name, Kind: *kind,
			Scopes: splitFlag(*scopes), Origins: splitFlag(*origins)})
		if err != nil {
			fmt.Fprintf(stderr, "promo apikeys create: %v\n", err)
			return ExitFailure
		}
		if *asJSON {
			writeJSONLine(stdout, map[string]any{"app_id": k.ID, "token": token, "name": k.Name, "kind": k.Kind,
				"scopes": k.Scopes, "origins": k.Origins, "created_at": k.CreatedAt})
		} else if k.Kind == promo.KeyClient {
			fmt.Fprintf(stdout, "X-Client-Application-Id: %s\nX-Client-Token:          %s\nThe token is shown once.\n", k.ID, token)
		} else {
			fmt.Fprintf(stdout, "X-App-Id:    %s\nX-App-Token: %s\nThe token is shown once; keep it secret.\n", k.ID, token)
		}
	case "list":
		keys, err := store.APIKeys(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "promo apikeys list: %v\n", err)
			return ExitFailure
		}
		if *asJSON {
			out := []map[string]any{}
			for _, k := range keys {
				out = append(out, map[string]any{"app_id": k.ID, "name": k.Name, "kind": k.Kind, "scopes": k.Scopes,
					"origins": k.Origins, "created_at": k.CreatedAt, "revoked_at": k.RevokedAt})
			}
			writeJSONLine(stdout, out)
			break
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP ID\tNAME\tKIND\tSCOPES OR ORIGINS\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			what := strings.Join(append(slices.Clone(k.Scopes), k.Origins...), ",")
			if what == "" {
				what = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Kind, what, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		tw.Flush()
	case "revoke":
		if err := eng.RevokeAPIKey(ctx, rest[0]); err != nil {
			fmt.Fprintf(stderr, "promo apikeys revoke: %v\n", err)
			return ExitFailure
		}
		fmt.Fprintf(stdout, "revoked %s\n", rest[0])
	}
	return ExitOK
}

// splitFlag splits a comma-separated flag value; nil for "".
func splitFlag(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func writeJSONLine(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "%s\n", b)
}
