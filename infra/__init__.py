"""fabledger infra layer."""
