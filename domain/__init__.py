"""fabledger domain layer."""
