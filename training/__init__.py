"""training: trains cnncalc's Keras models with adaptive optimizers and cyclical policies."""
