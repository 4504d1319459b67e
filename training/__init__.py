"""training: trains cnncalc's Keras models with adaptive optimizers and cyclical policies.

The package has five wings, so that a change has one obvious place (docs/training.md, "Layout"):

- the Keras library, at the top: ``optimizers`` (``make``, ``RMSpropNesterov``), ``schedules``
  (``CyclicalLearningRate``), ``batching`` (``CyclicalBatchSize``), ``augment`` (``Cutout``,
  ``StandardAugment``, ``BatchAugment``), ``finders`` (learning-rate and batch-size range tests),
  ``data`` (Fashion-MNIST and CIFAR-10 from their original files), ``models`` (zoo specs to
  compiled Keras models), ``dropout_scaling`` (Keras' inverted dropout against test-time weight
  scaling, on a trained model) and ``plots`` (every figure, saved atomically);
- ``runs/``: the run machinery: the run directory on disk (``rundir``), the batches a run trains
  on (``feeding``), the training loop with its exact resume (``loop``) and ``cnntrain report``
  (``report``);
- ``multihost/``: ``--distribute multi-host``, one model trained by several processes with JAX's
  distributed runtime: starting it (``runtime``, after the processes' ``rendezvous``), a lost
  process (``watchdog``), one writer of the run directory (``peers``);
- ``experiments/``: the recipes ``cnntrain`` runs, one module per exercise, found by
  registration (``clr``, ``cnn_ladder``, ``augmentation``, ``optimizer_comparison``,
  ``range_tests``, ``two_layer_net``) and the exercise's chain of them (``policies``);
- ``numpy_net/``: CS231n's two-layer network in NumPy (``network``), its gradient check
  (``gradcheck``), hyper-parameter search (``search``) and one-run driver (``run``): the
  reference, needing neither Keras nor matplotlib.

``cli`` is the ``cnntrain`` entry point over the recipes, ``cli_multihost`` its multi-host side
(the same command on every process); it keeps TensorFlow's native notices out of its terminal
(into the run's ``native.log``, with ``cnncalc.native_stderr``); ``keras_backend`` keeps
TensorFlow out of a process that trains with JAX. Data flows one way: data and models
feed the loop, the loop fills a run directory, the report and plots read it back. Importing
this package, ``training.runs``, ``training.experiments``, ``training.multihost`` or
``training.numpy_net`` loads no Keras; the library modules that build Keras objects import it themselves.
"""
