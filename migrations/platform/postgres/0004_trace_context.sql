-- The W3C traceparent of the request that wrote the event (NULL when
-- traces are off): the relay and the consumers continue that trace.
ALTER TABLE outbox ADD COLUMN trace_context TEXT;
