"""A restricted API to write file trees: ``OnDiskPath`` and ``InMemoryPath``."""
