"""Developer tools run from the repository root (not installed, not imported by the router)."""
