-- Deactivating a webhook endpoint or profile cancels its pending deliveries in the same
-- transaction; this partial index finds them (only the rows still waiting are in it).
CREATE INDEX webhook_deliveries_pending_endpoint ON webhook_deliveries (endpoint_id)
    WHERE status = 'pending';
