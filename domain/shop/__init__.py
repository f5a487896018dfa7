"""The shop context: settings and site content kept as events."""
