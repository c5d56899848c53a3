package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestRequestLineIsSlogs: the request log's own line is, byte for byte,
// the line slog's JSONHandler writes for the same record, for the
// attributes finish makes: strings that need escaping, integers, and
// durations in ms.
func TestRequestLineIsSlogs(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 44, 2, 123456789, time.FixedZone("CET", 3600))
	cases := [][]slog.Attr{
		{slog.String("method", "GET"), slog.String("route", "GET /healthz"), slog.Int("status", 200),
			slog.Float64("duration_ms", 0.042), slog.String("request_id", "req_1"), slog.Int64("bytes", 16)},
		{slog.String("method", "POST"), slog.Int("status", 500), slog.Float64("duration_ms", 12345.678),
			slog.String("error", "a \"quoted\"\n\tline \\ with <html> & \u2028 and \x01 and \xff"),
			slog.String("stack", "goroutine 1 [running]:\nmain.main()"), slog.Int64("refusals_not_logged", -3)},
		{slog.Float64("duration_ms", 0), slog.Float64("duration_ms", 1), slog.Float64("duration_ms", 0.001),
			slog.String("ключ", "значение")},
		nil,
	}
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		for i, attrs := range cases {
			var want bytes.Buffer
			r := slog.NewRecord(at, level, "request", 0)
			r.AddAttrs(attrs...)
			if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got := requestLine(nil, at, level, attrs); string(got) != want.String() {
				t.Errorf("case %d at %v:\n got %s\nwant %s", i, level, got, want.String())
			}
		}
	}
}
