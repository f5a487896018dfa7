"""fabledger benchmarks: ratios measured side by side in one run, never timed assertions.

Run them all with ``make bench`` (``python -m benchmarks``), or one at a time, e.g.
``python -m benchmarks.bench_placement --quick``.
"""
