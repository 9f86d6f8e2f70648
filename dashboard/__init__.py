"""QK Atlas: joint query/key maps of every attention head of a transformer.

Importing this package stays cheap: torch, transformers and umap load only inside workers.
"""

__version__ = "0.1.0"
