"""Importers: models described elsewhere (Keras, ONNX) read into cnncalc's graph spec.

The one reading path for model files. Each importer turns a file (or a live model) into a
:class:`~cnncalc.spec.Spec`; the engine never knows where a graph came from (docs/design.md:
importers -> graph -> engine -> front ends).

- :mod:`.keras`: live Keras models, config dicts, saved ``.keras`` archives, ``keras:NAME``.
- :mod:`.onnx`: ``.onnx`` files (the ``onnx`` package only).
- :mod:`.errors`: the one-line errors they raise.
- :mod:`.limits`: every cap on what a model file may make cnncalc read, allocate or walk.
- :mod:`.files`: the only way an importer reads a file a model names (``read_below``: below the
  model's directory, no symbolic link, regular files, capped) or a bounded stream (``read_capped``).

A file is data (docs/import.md, "Reading untrusted files"): it never makes cnncalc open another
path except through :mod:`.files`, what it makes cnncalc allocate is capped by :mod:`.limits`, and
every bad input is one error line naming the file, layer or node and the field.

Importing this package imports neither subpackage: ``cnncalc.importers.onnx`` loads the onnx
package only when a file is read, ``cnncalc.importers.keras`` loads Keras only for a live model.
"""
