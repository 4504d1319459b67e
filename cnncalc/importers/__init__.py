"""Importers: models described elsewhere (Keras, ONNX) read into cnncalc's graph spec.

The one reading path for model files. Each importer turns a file (or a live model) into a
:class:`~cnncalc.spec.Spec`; the engine never knows where a graph came from (docs/design.md:
importers -> graph -> engine -> front ends).

- :mod:`.keras`: live Keras models, config dicts, saved ``.keras`` archives, ``keras:NAME``.
- :mod:`.onnx`: ``.onnx`` files (the ``onnx`` package only).
- :mod:`.errors`: the one-line errors they raise.

Importing this package imports neither subpackage: ``cnncalc.importers.onnx`` loads the onnx
package only when a file is read, ``cnncalc.importers.keras`` loads Keras only for a live model.
"""
