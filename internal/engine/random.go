package engine

import "crypto/rand"

// randomBytes fills b from crypto/rand and returns it.
func randomBytes(b []byte) []byte {
	rand.Read(b) // never fails: it crashes the program rather than return weak bytes
	return b
}
