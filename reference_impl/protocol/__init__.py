"""Cap'n Proto level: schemas, servers, one connection, listeners, proxies."""
