"""The content-addressed store: keys, code fingerprints, digests, entries, results views."""
