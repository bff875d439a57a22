-- Audit events older than the retention setting are pruned in batches, oldest first.
CREATE INDEX audit_events_at ON audit_events (at);
