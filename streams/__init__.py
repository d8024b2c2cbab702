"""Streaming consumers, enrichment and producers for finsent."""
