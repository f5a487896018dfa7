"""fabledger workers layer."""
