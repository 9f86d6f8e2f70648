"""QK Atlas: joint query/key maps of every attention head of a transformer.

Importing this package stays cheap: torch, transformers and umap load only inside workers.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`from dashboard import show` (the notebook entry point), imported only when asked for."""
    if name == "show":
        from dashboard.notebook import show

        return show
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
