package codegen

import (
	"bufio"
	"context"
	"io"
	"testing"
)

// BenchmarkGenerate measures generating SUM-####-#### codes over the
// unambiguous charset into a buffered writer, as the CLI does.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"SUM-####-####", Config{Pattern: "SUM-####-####"}},
		{"SUM-####-####+check", Config{Pattern: "SUM-####-####", CheckChar: true}},
		{"length-20-alphanumeric", Config{Length: 20, Charset: Alphanumeric}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := Compile(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(io.Discard, 64<<10)
			b.ReportAllocs()
			b.ResetTimer()
			_, err = Generate(context.Background(), f, int64(b.N), Options{Limits: Limits{MaxDensity: 1}}, func(b Batch) error {
				_, err := w.Write(b.Lines())
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
