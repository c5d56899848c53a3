-- What Update needs (see postgres.go and tx.go).

-- Every Update's transaction takes update_gate in ACCESS SHARE mode before
-- its snapshot; one that keeps failing to serialize takes it in ACCESS
-- EXCLUSIVE mode, and so runs alone. A weak lock on a table costs no more
-- than the lock manager's fast path.
CREATE TABLE update_gate ();

-- expect_rows(n) is n, and fails with no_data_found when n is 0: a write
-- sent ahead of the COMMIT, in its round trip, that had to change a row
-- and changed none stops the transaction instead of letting the COMMIT
-- through.
CREATE FUNCTION expect_rows(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	IF n = 0 THEN
		RAISE SQLSTATE 'P0002' USING MESSAGE = 'no row to change';
	END IF;
	RETURN n;
END
$$;
