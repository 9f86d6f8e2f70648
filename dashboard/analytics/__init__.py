"""Per-head analytics: how a head attends (metrics), how far its map can be trusted (fidelity),
and which heads attend alike (similarity).

Pure numpy/scipy/scikit-learn; never imports dash or torch. Computed on the workers, cached as
JSON next to the maps.
"""
