-- PostgreSQL only: boolean flags and CHECK constraints (SQLite cannot alter
-- a column's type or add a constraint to an existing table).
SELECT 1;
