"""The append-only audit log and the archive of everything posted."""
