"""QK Atlas benchmarks: `make bench` (or `python -m bench.run [--quick]`) writes bench/results.md.

Performance floors live here, printed as PASS/FAIL next to the measurement, never in tests.
"""
