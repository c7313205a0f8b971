"""Chaos and integration testing: markers with timeouts, fault injection, stress."""
