-- voucher_id is promo.VoucherID in SQL, so that LockVoucher can read
-- whether rules are assigned to a voucher, by its ID, in the statement
-- that finds it by its code; TestVoucherIDFunction keeps the two equal.
-- x = seq * idMul mod 2^64, in 11 base-62 digits. Each function is a
-- single expression, which the planner inlines into the statement that
-- calls it.
CREATE FUNCTION base62_digit(x numeric, i int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (div(x, 62::numeric ^ i) % 62)::int + 1, 1)
$$;
CREATE FUNCTION base62_11(x numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT base62_digit(x, 10) || base62_digit(x, 9) || base62_digit(x, 8) || base62_digit(x, 7) || base62_digit(x, 6) || base62_digit(x, 5)
		|| base62_digit(x, 4) || base62_digit(x, 3) || base62_digit(x, 2) || base62_digit(x, 1) || base62_digit(x, 0)
$$;
CREATE FUNCTION voucher_id(seq bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT 'v_' || base62_11(seq::numeric * 11400714819323198485 % 18446744073709551616)
$$;
