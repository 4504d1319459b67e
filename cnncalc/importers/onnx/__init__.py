"""ONNX -> spec: a ``.onnx`` file (what ``torch.onnx.export`` writes) as a :class:`Graph`.

PyTorch users export with ``torch.onnx.export`` and look at the file in Netron, which draws the
graph but counts nothing. cnncalc reads the file with the ``onnx`` package alone (protobuf: no
onnxruntime, torch or TensorFlow is imported) and maps each operator onto a registered layer kind,
so the one engine gives parameters, output shapes, MACs, activations, receptive fields and
symbolic sizes, exactly as for the zoo or a Keras model.

The graph. Every ONNX node that computes on the image becomes one :class:`~cnncalc.spec.Node`,
named after the node (``/layer1/layer1.0/conv1/Conv`` is ``layer1.0.conv1.Conv``); the tensors it
reads name their producers. Tensors that only carry shapes, axes or scales (initializers,
``Constant``, ``Shape`` -> ``Gather`` -> ``Concat`` chains that the exporters write around a
dynamic ``flatten``) are evaluated here, only when a shape needs their values, and never become
rows; external data is read only below the model's directory (:mod:`.external`; docs/import.md,
"Reading untrusted files"). A node reusing another node's
weight initializer shares its parameters (counted once).

Layout. The spec is per sample: the batch axis the input marks is never part of a shape, and is
followed through transposes (``nn.MultiheadAttention``'s ``L x N x E``) and reshapes; a batch
folded into another axis (Swin's windows) counts per sample. Images ``N x C x H x W`` are shown
channels last (``H x W x C``); any other tensor keeps the ONNX order (a ViT's ``tokens x
channels``, Swin's ``H x W x C`` stages). Axes are converted (``Concat(axis=1)`` of images joins
channels). :mod:`.tensors` has the rules.

Counts. Parameters are the elements of the float tensors the file stores that nodes read as
weights (a Conv's ``W`` and ``B``, a Gemm's ``B`` and ``C``, BatchNormalization's four inputs) or
as learned operands, directly or through constant-only operators (a position embedding, a class
token, a per-channel bias, Swin's gathered relative-position bias): through each kind's formula;
integer shapes, axes and indices and one-element constants are never parameters. ONNX has no
trainable flag: BatchNormalization's running mean and variance count as non-trainable, as Keras
counts them, everything else as trainable. An eval-mode export folds BatchNorm into the
convolutions (the file holds the folded weights and biases): the count is what the file holds,
and ``spec.meta["folded_batchnorm"]`` says what torch counts for the unfolded model. Files older
than opset 11 are upgraded in memory first (``onnx.version_converter``).

Dynamic axes. An input axis named in the file (``dim_param``: ``height``, ``width``) becomes a
positive-integer sympy symbol of that name, so a file exported with dynamic sizes is analysed
symbolically with no flag; an unnamed unknown axis becomes ``H`` or ``W``.

What each operator becomes is :data:`OPS`; docs/import.md lists it. An operator outside it (or a
form of one that no kind expresses) becomes an :class:`~cnncalc.kinds.Opaque` row: output shape
from ``onnx.shape_inference``, parameters the float tensors it reads, named in the analysis'
warnings with "MACs not counted" and why. A file that is not ONNX, is truncated, cannot be upgraded,
has no image input or has a weight that does not fit its input raises :class:`OnnxImportError`
with a one-line message.

Modules: :mod:`.model` (entry points: load, opset, :func:`from_onnx`), :mod:`.reader` (the graph
walk), :mod:`.ops` (the operator table), :mod:`.node` (one node as the builders see it),
:mod:`.folding` (constants, made lazily and capped), :mod:`.external` (a stored tensor's values,
external data included), :mod:`.tensors` (computed and constant tensors, layout).
"""

from ..errors import OnnxImportError
from .model import MIN_OPSET, from_onnx, is_onnx_file, load_model, opset

__all__ = ["MIN_OPSET", "OnnxImportError", "from_onnx", "is_onnx_file", "load_model", "opset"]
