"""Reporting layer: paper values, result records, tables, figures, claims and the summary.

Reads result files (metrics JSON, table CSVs) and writes Markdown/LaTeX/CSV/PNG/PDF.
Imports pandas, numpy, matplotlib, seaborn and PIL only -- never torch or training code,
so rendering a report never needs a GPU or a model.

Modules:
- ``paper``   -- every number the two papers print, per (experiment, row, column), cited rows flagged.
- ``records`` -- the input contract: metrics JSON files and the entries that map them to table cells.
- ``tables``  -- ``vssl table``: ours vs paper with differences (CSV, Markdown, LaTeX).
- ``figures`` -- ``vssl figure``: bar/curve/image-grid figures (PNG, PDF, data CSV).
- ``claims``  -- the papers' directional claims, declared as data, evaluated over seeds.
- ``summary`` -- ``vssl summary``: SUMMARY.md and claims.md.
"""
