"""cnncalc: an analytical CNN calculator.

One layer-spec engine computes output shapes, parameters, activations, MACs and receptive fields,
numerically or symbolically. Importing this package stays light: no sympy, keras or tensorflow.
"""

__version__ = "0.1.0"
