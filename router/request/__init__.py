"""The request phase: what the router checks about an operation before it fetches anything."""
