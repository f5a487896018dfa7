"""fabledger api routers layer."""
