-- Bulk imports (issue 17): an import of a vendor's stock reads, for every
-- batch of the vendor, the packs received into it from the ledger. Without
-- an index on the ledger's batch that read scans the whole ledger once per
-- batch (19 s for 10 000 batches on SQLite); with it, one lookup each.
CREATE INDEX stock_movements_batch ON stock_movements (batch_id);
