"""The orderchain engine: reads the chain, keeps the event store, runs the domain model."""
