"""The print fleet: printers (one stream each), shop categories, and the printer-choice rule."""
