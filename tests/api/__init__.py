"""Tests of the HTTP API (api/): authorisation, errors, idempotency, concurrency, schema."""
