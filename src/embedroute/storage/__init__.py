"""Document validation and the SQLite store that holds a collection's documents, attributes and vectors."""
