"""Reusable Maratron ComponentResources, one per file, each with a typed args dataclass."""
