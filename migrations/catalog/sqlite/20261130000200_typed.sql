-- PostgreSQL only: boolean flags and CHECK constraints (SQLite keeps 0/1 flags
-- and cannot add constraints to existing tables); kept so both histories match.
SELECT 1;
