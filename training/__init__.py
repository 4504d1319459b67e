"""training: trains cnncalc's Keras models with adaptive optimizers and cyclical policies.

The package has four wings, so that a change has one obvious place (docs/training.md, "Layout"):

- the Keras library, at the top: ``optimizers`` (``make``, ``RMSpropNesterov``), ``schedules``
  (``CyclicalLearningRate``), ``batching`` (``CyclicalBatchSize``), ``augment`` (``Cutout``,
  ``StandardAugment``, ``BatchAugment``), ``finders`` (learning-rate and batch-size range tests),
  ``data`` (Fashion-MNIST and CIFAR-10 from their original files), ``models`` (zoo specs to
  compiled Keras models), ``dropout_scaling`` (Keras' inverted dropout against test-time weight
  scaling, on a trained model) and ``plots`` (every figure, saved atomically);
- ``runs/``: the run machinery: the run directory on disk (``rundir``), the training loop with
  its exact resume (``loop``) and ``cnntrain report`` (``report``);
- ``experiments/``: the recipes ``cnntrain`` runs, one module per exercise, found by
  registration (``clr``, ``cnn_ladder``, ``augmentation``, ``optimizer_comparison``,
  ``range_tests``, ``two_layer_net``) and the exercise's chain of them (``policies``);
- ``numpy_net/``: CS231n's two-layer network in NumPy (``network``), its gradient check
  (``gradcheck``), hyper-parameter search (``search``) and one-run driver (``run``): the
  reference, needing neither Keras nor matplotlib.

``cli`` is the ``cnntrain`` entry point over the recipes; it keeps TensorFlow's native notices
out of its terminal (into the run's ``native.log``, with ``cnncalc.native_stderr``). Data flows one way: data and models
feed the loop, the loop fills a run directory, the report and plots read it back. Importing
this package, ``training.runs``, ``training.experiments`` or ``training.numpy_net`` loads no
Keras; the library modules that build Keras objects import it themselves.
"""
