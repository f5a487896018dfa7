"""fabledger projections layer."""
