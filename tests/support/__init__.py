"""Helpers shared by the test tiers: pinned tool lookup, helm rendering, schemas."""
