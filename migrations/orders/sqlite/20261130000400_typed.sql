-- PostgreSQL only: CHECK constraints on status, enum and amount columns
-- (SQLite cannot add constraints to existing tables). Kept so that both
-- backends share one migration history.
SELECT 1;
