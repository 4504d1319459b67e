"""The batches a run trains on: every epoch's order and batch sizes are pure functions of ``(seed, epoch)``.

Three ways to hand them to Keras, one per situation, all serving the same batches in the same
order (``tests/training/test_runs.py`` checks the first two bit for bit, the backends test the
third):

- **graph** (TensorFlow, no per-batch NumPy transform): the training arrays become tensors once
  and an epoch is a ``tf.data`` pipeline over its index order cut into the epoch's batch sizes (a
  ragged tensor of indices, one row per batch, gathered in the graph): no Python per batch, any
  mix of batch sizes; one pipeline can hold every epoch (:meth:`Feeder.epochs`).
- **python** (TensorFlow with ``expand_batch``, batch augmentation): a ``keras.utils.PyDataset``
  per epoch serves the batches from NumPy.
- **host** (JAX or any other backend, where ``tf.data`` would tie the run to TensorFlow): a
  ``PyDataset`` gathers each batch from the host arrays (one NumPy fancy index, then
  ``expand_batch``), so that one ``fit`` can run every epoch as in the graph mode, its epoch set
  by the loop's callback at the start of each epoch. In a multi-host run
  (:mod:`training.multihost`) each process serves only its part of every global batch, and
  every batch (training, validation, test) is cut to a multiple of the number of devices.

Keras (and TensorFlow, in the graph mode) is imported inside the functions that build datasets,
so importing this module stays light.
"""

from __future__ import annotations

import numpy as np


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The sample order of ``epoch``: the same on every run and after every resume."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


class Feeder:
    """Every epoch's batches as a Keras input, and the validation split, made once per run.

    ``cluster`` (a :class:`training.multihost.Cluster`, or None) makes every batch a multiple of
    its devices and this process's input its part of each.
    """

    def __init__(self, plan, cluster=None):
        import keras

        self.plan, self.cluster = plan, cluster
        backend = keras.backend.backend()
        self.mode = "host" if backend != "tensorflow" else ("graph" if plan.expand_batch is None else "python")
        self.val = None
        if self.mode == "graph":
            import tensorflow as tf

            self.x, self.y = tf.convert_to_tensor(plan.x_train), tf.convert_to_tensor(plan.y_train)
            if plan.x_val is not None:
                self.val = tf.data.Dataset.from_tensor_slices((plan.x_val, plan.y_val)).batch(int(plan.batch_size))
        elif self.mode == "host":
            if plan.x_val is not None:
                self.val = self.evaluation(plan.x_val, plan.y_val)
        elif plan.x_val is not None:
            self.val = (plan.x_val, plan.y_val)

    @property
    def graph(self) -> bool:
        return self.mode == "graph"

    def sizes(self, epoch: int) -> list:
        """The global batch sizes of ``epoch`` as trained (cut to the devices in a multi-host run)."""
        sizes = self.plan.steps_of(epoch)
        return sizes if self.cluster is None else self.cluster.cut(sizes)

    def rows(self, epoch: int) -> list:
        """The sample indices of each batch of ``epoch``: its order cut into the planned batches,
        each batch shortened to its trained size (the cut samples sit out this epoch)."""
        plan = self.plan
        order = epoch_order(plan.seed, epoch, len(plan.x_train))
        planned = plan.steps_of(epoch)
        starts = np.cumsum([0] + planned[:-1])
        if self.cluster is None:
            return [order[s : s + b] for s, b in zip(starts, planned)]
        d = self.cluster.devices
        return [order[s : s + b - b % d] for s, b in zip(starts, planned) if b >= d]

    def epoch(self, epoch: int):
        """``(data, sizes)``: epoch ``epoch``'s batches in order and their sizes."""
        plan = self.plan
        if self.mode == "graph":
            import tensorflow as tf

            order = epoch_order(plan.seed, epoch, len(plan.x_train))
            sizes = plan.steps_of(epoch)
            rows = tf.RaggedTensor.from_row_lengths(order, sizes)
            return self._gathered(tf.data.Dataset.from_tensor_slices(rows)), sizes
        if self.mode == "python":
            order = epoch_order(plan.seed, epoch, len(plan.x_train))
            sizes = plan.steps_of(epoch)
            return _py_dataset(plan, order, sizes), sizes
        data = host_batches(plan.x_train, plan.y_train, self.rows, epoch, plan.expand_batch, self.cluster)
        return data, [len(r) for r in data.rows]

    def _gathered(self, rows):
        """The batches whose sample indices ``rows`` (a dataset of index vectors) yields, gathered in the graph."""
        import tensorflow as tf

        x, y = self.x, self.y
        return rows.map(lambda idx: (tf.gather(x, idx), tf.gather(y, idx))).prefetch(2)

    def epochs(self, first: int, stop: int):
        """``(data, steps)`` for one ``fit`` over epochs ``first .. stop - 1``, or ``None``.

        Possible when every epoch has the same number of steps (``fit``'s ``steps_per_epoch`` is
        one number) and the batches are gathered in the graph or on the host. In the graph mode
        the epochs' batches follow one another in one dataset, each epoch's order made from
        ``(seed, epoch)`` by :func:`epoch_order` when the pipeline reaches it (NumPy, once per
        epoch), so ``fit`` creates its iterators once per run. Why it matters: a ``fit`` per
        epoch creates and destroys them every epoch, and their teardown sometimes *waits* (tens
        of milliseconds to seconds on a busy 2-core machine) where plain ``fit`` overlaps it with
        work. In the host mode the dataset serves one epoch at a time: the loop's callback calls
        its ``set_epoch`` when Keras begins an epoch (:func:`training.runs.loop.train`).
        """
        if self.mode == "python" or stop <= first:
            return None
        sizes = [self.sizes(first)]
        for e in range(first + 1, stop):
            sizes.append(self.sizes(e))
            if len(sizes[-1]) != len(sizes[0]):
                return None  # a batch-size schedule that changes the step count: one fit per epoch
        if self.mode == "host":
            plan = self.plan
            return host_batches(plan.x_train, plan.y_train, self.rows, first, plan.expand_batch, self.cluster), sizes
        import tensorflow as tf

        plan = self.plan
        n, seed = len(plan.x_train), int(plan.seed)

        def order_of(epoch):
            return epoch_order(seed, int(epoch), n).astype(np.int64)

        def rows(epoch, lengths):
            order = tf.numpy_function(order_of, [epoch], tf.int64, stateful=False)
            order.set_shape([n])
            return tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(order, lengths))

        epochs = tf.data.Dataset.from_tensor_slices((tf.range(first, stop, dtype=tf.int64), tf.constant(sizes, dtype=tf.int64)))
        return self._gathered(epochs.flat_map(rows)), sizes

    def evaluation(self, x, y):
        """``x, y`` (validation or test) in batches of the run's batch size (:func:`evaluation_batches`)."""
        return evaluation_batches(x, y, int(self.plan.batch_size), self.cluster)


def evaluation_batches(x, y, batch_size: int, cluster=None):
    """``x, y`` in consecutive batches of ``batch_size``, served from the host: for ``evaluate``.

    With a ``cluster`` each batch is cut to a multiple of its devices (the last batch's few cut
    samples are left out of the evaluation) and each process serves its part.
    """
    n, b = len(x), int(batch_size)
    d = 1 if cluster is None else cluster.devices
    rows = [np.arange(s, min(s + b, n)) for s in range(0, n, b)]
    rows = [r[: len(r) - len(r) % d] for r in rows if len(r) >= d]
    return host_batches(x, y, lambda epoch: rows, 0, None, cluster)


def host_batches(x, y, rows_of, epoch: int, expand=None, cluster=None):
    """A ``keras.utils.PyDataset`` of the batches ``x[idx], y[idx]`` for ``idx`` in ``rows_of(epoch)``.

    ``set_epoch(e)`` switches to epoch ``e``'s rows (the number of batches must stay the same
    within one ``fit``). ``expand(x, y)`` transforms each batch (batch augmentation repeats its
    samples); with a ``cluster`` each process gathers only its part of every batch.
    """
    import keras

    class HostBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)  # in order, in the training thread: set_epoch applies at once
            self.set_epoch(epoch)

        def set_epoch(self, e: int) -> None:
            self.epoch, self.rows = int(e), rows_of(int(e))

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, i):
            idx = self.rows[i]
            if cluster is not None:
                idx = idx[cluster.local_part(len(idx))]
            bx, by = x[idx], y[idx]
            if expand is not None:
                bx, by = expand(bx, by)
            return bx, by

    return HostBatches()


def _py_dataset(plan, order: np.ndarray, sizes: list):
    import keras

    bounds = np.cumsum([0] + sizes)

    class EpochBatches(keras.utils.PyDataset):
        def __len__(self):
            return len(sizes)

        def __getitem__(self, i):
            idx = order[bounds[i] : bounds[i + 1]]
            x, y = plan.x_train[idx], plan.y_train[idx]
            if plan.expand_batch is not None:
                x, y = plan.expand_batch(x, y)
            return x, y

    return EpochBatches(workers=1, use_multiprocessing=False)
