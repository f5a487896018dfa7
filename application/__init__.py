"""fabledger application layer."""
