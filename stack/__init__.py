"""Running the whole exchange on one machine without Docker: the process list,
a small supervisor, start-up checks, and the audit of the invariants."""
