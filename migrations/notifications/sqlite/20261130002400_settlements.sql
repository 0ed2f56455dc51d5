-- PostgreSQL only: the kind CHECKs learn SETTLEMENT_ISSUED (SQLite has none).
SELECT 1;
