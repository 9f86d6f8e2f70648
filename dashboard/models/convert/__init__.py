"""One-time converters that turn packaged model files into loadable safetensors checkpoints."""
