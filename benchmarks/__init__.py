"""Benchmarks of cnncalc against the usual tools: ``python -m benchmarks [--only NAME ...] [--quick]``.

Each benchmark is one function ``run(quick: bool) -> list[Row]`` registered in
:data:`benchmarks.__main__.BENCHMARKS`; the runner times nothing itself, it only collects rows,
prints them and writes ``benchmarks/RESULTS.md``. See ``benchmarks/README.md``.
"""
