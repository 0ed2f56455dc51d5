-- Returns (issue 13): notification kinds RETURN_REQUESTED, RETURN_APPROVED
-- and RETURN_REJECTED. PostgreSQL only (its CHECK constraints on kinds).
SELECT 1;
