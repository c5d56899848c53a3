// Package cluster holds the multi-node acceptance tests of Promo on
// PostgreSQL: real promo serve processes sharing one database, driven over
// HTTP. The package has no code of its own; its tests skip without
// PROMO_TEST_POSTGRES_URL.
package cluster
