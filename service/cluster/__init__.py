"""Cluster mode: cameras sharded over Ray nodes. Imported only when `cluster.enabled` is set (needs `.[cluster]`)."""
