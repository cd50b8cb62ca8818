"""The event store: each webhook's facts appended once, projected into the records, spooled if need be."""
