"""Reading training shards: shard discovery and dealing, readers, online curation, the data loader."""
