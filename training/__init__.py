"""Train worldwide CLIP models on curated shards with open_clip."""
