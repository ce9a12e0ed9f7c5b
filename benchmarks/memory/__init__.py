"""Memory of every server, started by prodserver and by its own command line."""
