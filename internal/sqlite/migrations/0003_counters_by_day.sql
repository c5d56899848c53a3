-- Counters keep one row per scope and day; a scope's all-time total is the
-- sum of its rows (see Counter). The all-time rows that 0002 also kept, at
-- day 0, repeat the day rows and go. No redemption was ever counted at day
-- 0 otherwise: the engine counts each on its UTC day.
DELETE FROM redemption_counters WHERE day = 0;
