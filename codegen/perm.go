package codegen

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
)

// The keyed permutation
//
// Code number i of a generator is P(i), where P is a pseudo-random permutation
// of [0, N^j) under a secret key: a Feistel network over base-N numbers in the
// manner of NIST's FF1 and FF3-1 format-preserving encryption. The j digits
// split into a high half A < N^u and a low half B < N^v (u = j/2, v = j-u);
// each of the 8 rounds adds a keyed function of one half to the other, modulo
// its size, so every round is invertible and the whole is a bijection of
// exactly [0, N^j): distinct indices give distinct codes, with no set to
// remember and no cycle-walking.
//
// The round function of round r is AES-128 of the half under a round key,
// itself AES of (r, N, k, j) under the generator key: the key schedule, not the
// data block, carries the round and the format, so each call encrypts just the
// half and calls for different lanes overlap in the CPU.
//
// j is the number of random characters, capped so that N^j <= 2^62. In a
// format with more random characters than that (more than 12 of 31, say), the
// rest come from AES of the index under another derived key, in counter mode:
// uniqueness rests on the first j, which alone allow more than 4·10^18 codes.

const (
	rounds  = 8
	maxPerm = 1 << 62
	lanes   = 8 // indices permuted side by side
)

type perm struct {
	round  [rounds]cipher.Block
	stream cipher.Block // for the digits beyond j
	n      uint64       // radix: the charset's size
	j      int          // permuted digits
	u, v   int          // digits in the high and low halves
	mu, mv uint64       // N^u, N^v
	dn     divisor      // division by n
	in     [lanes][16]byte
	out    [lanes][16]byte
	sin    [16]byte // the stream's input and output, kept here so they do not escape
	sout   [16]byte
}

func newPerm(key []byte, n, k int) (*perm, error) {
	master, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	p := &perm{n: uint64(n), dn: newDivisor(uint64(n))}
	size := uint64(1)
	for p.j < k {
		hi, lo := bits.Mul64(size, p.n)
		if hi != 0 || lo > maxPerm {
			break
		}
		size = lo
		p.j++
	}
	p.u = p.j / 2
	p.v = p.j - p.u
	p.mu, p.mv = pow(p.n, p.u), pow(p.n, p.v)

	derive := func(tag byte) (cipher.Block, error) {
		var in, sub [16]byte
		copy(in[:], "promo-perm")
		in[11], in[12], in[13], in[14], in[15] = tag, byte(n), byte(k), byte(p.j), byte(p.u)
		master.Encrypt(sub[:], in[:])
		return aes.NewCipher(sub[:])
	}
	for r := range p.round {
		if p.round[r], err = derive(byte(r)); err != nil {
			return nil, err
		}
	}
	if p.stream, err = derive(0xff); err != nil {
		return nil, err
	}
	return p, nil
}

// size returns N^j, the number of indices the permutation covers.
func (p *perm) size() uint64 { return p.mu * p.mv }

func pow(n uint64, e int) uint64 {
	r := uint64(1)
	for range e {
		r *= n
	}
	return r
}

// split returns the halves of index x.
func (p *perm) split(x uint64) (a, b uint64) { return x / p.mv, x % p.mv }

// permute replaces the halves (a[i], b[i]) of each lane with those of P.
func (p *perm) permute(a, b *[lanes]uint64) {
	for r := range rounds {
		src, dst, m := b, a, p.mu
		if r%2 == 1 {
			src, dst, m = a, b, p.mv
		}
		blk := p.round[r]
		for i := range lanes {
			binary.LittleEndian.PutUint64(p.in[i][:8], src[i])
			blk.Encrypt(p.out[i][:], p.in[i][:])
		}
		for i := range lanes {
			// Lemire's reduction of 64 random bits to [0, m): bias below m/2^64.
			f, _ := bits.Mul64(binary.LittleEndian.Uint64(p.out[i][:8]), m)
			d := dst[i] + f
			if d >= m {
				d -= m
			}
			dst[i] = d
		}
	}
}

// digits writes the j base-N digits of the permuted value with halves a and
// b, most significant first.
func (p *perm) digits(a, b uint64, dst []int) {
	p.dn.digits(a, dst[:p.u])
	p.dn.digits(b, dst[p.u:p.j])
}

// extra writes uniform base-N digits for index x into dst: AES of the index
// and a block counter under the stream key, bytes taken by rejection sampling.
func (p *perm) extra(x uint64, dst []int) {
	in, out := p.sin[:], p.sout[:]
	binary.LittleEndian.PutUint64(in[:8], x)
	clear(in[8:])
	limit := 256 - 256%int(p.n)
	used := len(out)
	for i := 0; i < len(dst); {
		if used == len(out) {
			p.stream.Encrypt(out, in)
			binary.LittleEndian.PutUint64(in[8:], binary.LittleEndian.Uint64(in[8:])+1)
			used = 0
		}
		c := int(out[used])
		used++
		if c < limit {
			dst[i] = c % int(p.n)
			i++
		}
	}
}

// divisor divides by a constant d without a division instruction, for
// dividends below 2^32 (Lemire, Kaser and Kurz, "Faster remainder by direct
// computation", 2019); larger dividends take the slow path.
type divisor struct {
	d, m uint64 // m = ceil(2^64 / d)
}

func newDivisor(d uint64) divisor { return divisor{d: d, m: ^uint64(0)/d + 1} }

// digits writes the len(dst) lowest base-d digits of x, most significant first.
func (dv divisor) digits(x uint64, dst []int) {
	for i := len(dst) - 1; i >= 0; i-- {
		var q uint64
		if x < 1<<32 {
			q, _ = bits.Mul64(dv.m, x)
		} else {
			q = x / dv.d
		}
		dst[i] = int(x - q*dv.d)
		x = q
	}
}
