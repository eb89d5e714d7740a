"""Buses between ingest and the processor: in-process (embedded) and NATS JetStream."""
