"""Kafka distribution: the relay publishes each application's log, consumers fold it."""
