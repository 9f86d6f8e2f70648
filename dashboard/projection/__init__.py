"""Joint query/key projection: pure numpy + the estimator libraries (imported lazily)."""
