"""Provider kinds behind one protocol and a registry; each knows nothing of phases."""
