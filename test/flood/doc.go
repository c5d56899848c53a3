// Package flood holds the bot-flood acceptance test of the abuse
// protection: a real promo serve process under a flood of guessed codes
// while real customers redeem theirs. The package has no code of its own.
package flood
