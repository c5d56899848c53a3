package codegen

// Check characters
//
// With Config.CheckChar a code carries one more character, computed from its
// random characters, so that typing mistakes are caught without a database
// lookup. Let N be the size of the charset and each character's value its index
// in the charset.
//
// When N is an odd prime (the unambiguous charset has 31), the check character
// makes the weighted sum Σ wᵢ·vᵢ ≡ 0 (mod N), where the check character has
// weight 1, the character before it 2, and so on, cycling through 1…N-1. Every
// weight and every difference of neighbouring weights is then invertible mod N,
// so the check catches every single-character substitution and every
// transposition of two adjacent random characters, the check character
// included, for codes of any length.
//
// For any other N (alphanumeric 62, alphabetic 52, one case 26, numbers 10) it
// is Luhn mod N: it catches every single-character substitution and every
// adjacent transposition except one pair: the charset's first and last
// characters swapped ("0" and "Z" in alphanumeric, "0" and "9" in numbers),
// exactly as the decimal Luhn check misses 09 ↔ 90.
//
// Literal characters are checked by position instead, and separators are not
// part of a code at all, so moving a separator changes nothing. The check is
// not a secret: it protects people from typos, not the code space from guesses,
// and it adds no entropy.

// checkValue returns the value of the check character for the random
// characters vals over a charset of n characters; prime says whether n is an
// odd prime.
func checkValue(vals []int, n int, prime bool) int {
	if prime {
		sum := 0
		w := 1 // weight of the check character itself
		for i := len(vals) - 1; i >= 0; i-- {
			w++
			if w == n {
				w = 1
			}
			sum += w * vals[i] // at most 63·93·93: no overflow, one % at the end
		}
		return (n - sum%n) % n
	}
	sum := 0
	double := true // the character next to the check character is doubled
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i]
		if double {
			v *= 2
			v = v/n + v%n // sum of the two base-n digits
		}
		sum += v
		double = !double
	}
	return (n - sum%n) % n
}

func isOddPrime(n int) bool {
	if n < 3 || n%2 == 0 {
		return false
	}
	for d := 3; d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}
