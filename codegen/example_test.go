package codegen_test

import (
	"context"
	"errors"
	"fmt"

	"promo/codegen"
)

func Example() {
	f, err := codegen.Compile(codegen.Config{Pattern: "SUM-####-####", CheckChar: true})
	if err != nil {
		panic(err)
	}
	// A fixed key makes the output reproducible; leave it nil for a fresh
	// random one, and keep it secret.
	key := []byte("an example key!!")
	_, err = codegen.Generate(context.Background(), f, 3, codegen.Options{Key: key}, func(b codegen.Batch) error {
		fmt.Print(string(b.Lines()))
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// SUM-6H2T-6PSRG
	// SUM-AP5C-6XFKB
	// SUM-3RCR-JHCH4
}

func ExampleFormat_Parse() {
	f, _ := codegen.Compile(codegen.Config{Pattern: "SUM-####-####", CheckChar: true})
	for _, input := range []string{
		" sum 6h2t 6psrg ", // as a person types it
		"ＳＵＭ－６Ｈ２Ｔ－６ＰＳＲＧ",   // full-width
		"SUM-6H2T-6PRSG",   // two characters swapped
		"SUM-6H2T-6PSR",    // one missing
		"SUM-6Н2T-6PSRG",   // a Cyrillic Н
	} {
		canonical, err := f.Parse(input)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(canonical, f.Display(canonical))
	}
	// Output:
	// SUM6H2T6PSRG SUM-6H2T-6PSRG
	// SUM6H2T6PSRG SUM-6H2T-6PSRG
	// malformed code: "SUM6H2T6PRSG": the check character does not match; a character was mistyped or two were swapped
	// malformed code: "SUM6H2T6PSR" has 11 characters after normalization, the format needs 12
	// malformed code: character 6 ('Н', U+041D) is not a Latin letter, though it may look like one
}

func ExampleNormalize() {
	rules := codegen.Rules{Separators: "-", Case: codegen.CaseUpper}
	fmt.Println(codegen.Normalize("  ｓａｖｅ–10 ", rules))
	_, err := codegen.Normalize("SAVE\u200b10", rules)
	fmt.Println(err)
	// Output:
	// SAVE10 <nil>
	// malformed code: character 5 is an invisible formatting character (U+200B)
}

func ExampleFormat_Assess() {
	f, _ := codegen.Compile(codegen.Config{Pattern: "SUM-####-####"})
	report, _ := f.Assess(10_000_000, 0, codegen.Limits{})
	fmt.Print(report)

	_, err := f.Assess(200_000_000, 0, codegen.Limits{})
	fmt.Println(errors.Is(err, codegen.ErrUnsafe))
	fmt.Println(err)
	// Output:
	// format        SUM-####-####
	// code space    31^8 = 852,891,037,441 (39.6 bits)
	// codes         10,000,000 new + 0 existing
	// density       1.17e-05 (refused above 0.0001, warned above 1e-09)
	// guess odds    one random guess in 85,289 hits a live code
	// verdict       guessable: allowed; protect the codes with rate limits
	// true
	// unsafe code config: 200,000,000 codes of SUM-####-#### in a space of 31^8 = 852,891,037,441 leave a density of 0.000234, above the maximum 0.0001: one random guess in 4,264 would hit; use at least 9 random characters (the pattern has 8), or a larger charset
}
