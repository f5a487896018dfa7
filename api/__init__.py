"""fabledger api layer."""
