"""Head analytics: numbers about heads and maps, computed on the workers. Pure numpy/sklearn."""
