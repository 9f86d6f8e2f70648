"""Models: the registry (pure), families (data), corpora (pure); loader/extract import torch."""
