"""The demo store: realistic generated people and journeys, written through the same paths as real work."""
