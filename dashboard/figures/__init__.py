"""Pure figure builders: stored arrays in, plotly figure dicts out. No dash imports here.

Figures are plain dicts with numeric arrays as plotly typed arrays (base64), so the payload
is compact and a Dash Patch can replace one trace without re-sending the rest.
"""
