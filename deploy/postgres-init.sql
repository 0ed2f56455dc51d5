-- One database per subgraph on the compose file's PostgreSQL server (run once,
-- by the postgres image, when its volume is empty). Every subgraph migrates
-- its own database at start.
CREATE DATABASE janta_users;
CREATE DATABASE janta_catalog;
CREATE DATABASE janta_prescriptions;
CREATE DATABASE janta_orders;
CREATE DATABASE janta_payments;
CREATE DATABASE janta_notifications;
