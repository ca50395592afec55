"""Multi-vector (late-interaction) retrieval: token encoders, MUVERA fixed-dimensional encodings, MaxSim, query
carving and token pruning."""
