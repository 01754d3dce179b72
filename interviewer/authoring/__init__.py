"""Drafting bank content for review: `bank enrich` and `bank generate`."""
