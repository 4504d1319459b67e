"""The values of a stored tensor (an initializer, a ``Constant``'s value), external data included.

``onnx.save_model(..., save_as_external_data=True)`` keeps large tensors in a file beside the
model, named by the tensor's ``external_data`` entries (``location``, ``offset``, ``length``).
``onnx.numpy_helper.to_array`` would read that location relative to the *working directory*;
cnncalc reads it only through :func:`cnncalc.importers.files.read_below`:

- only when a builder needs the numbers (a reshape target, a scalar), never for a weight whose
  dimensions are all that counts, and never for a model given as bytes or a ModelProto (there is
  no directory to read from: the value is unknown);
- only a regular file below the model's own directory, reached without a symbolic link; an
  absolute location, a ``..`` or a link is a one-line error naming the tensor;
- never more than :data:`~cnncalc.importers.limits.MAX_CONSTANT_ELEMENTS` elements, and exactly the
  bytes the tensor's dimensions need;
- a data file that is not there leaves the value unknown (a graph saved without its ``.data`` file
  still reads: its weights' dimensions are in the model).
"""

from __future__ import annotations

from ...arith import product
from ..errors import ModelFileError, OnnxImportError
from ..files import MissingFile, read_below
from ..limits import MAX_CONSTANT_ELEMENTS, limit_text
from .tensors import Unknown

EXTERNAL = 1
"""``TensorProto.EXTERNAL``: the tensor's data is in another file."""


def uses_external_data(tensor) -> bool:
    return tensor.data_location == EXTERNAL


def tensor_values(tensor, base_dir, what):
    """The numpy array of a stored ``tensor``, or :class:`Unknown` (its data file is not there, or
    the model has no directory); ``what`` names it in errors ("initializer 'w'")."""
    dims = _dims(tensor, what)
    if uses_external_data(tensor):
        return _external(tensor, dims, base_dir, what)
    from onnx import numpy_helper

    try:
        array = numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise OnnxImportError(f"{what} declares shape {dims} ({product(dims):,} elements) but its data cannot be read ({type(exc).__name__}: {exc})") from None
    if array.size != product(dims):
        raise OnnxImportError(f"{what} declares shape {dims} ({product(dims):,} elements) but holds {array.size:,}")
    return array


def _dims(tensor, what) -> tuple:
    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{what} has a negative dimension: shape {dims}")
    return dims


def _external(tensor, dims, base_dir, what):
    from onnx import TensorProto, helper, numpy_helper

    entries = {e.key: e.value for e in tensor.external_data}
    location = entries.get("location", "")
    if base_dir is None:
        return Unknown(dims, reason=f"is stored in '{location}', and a model given as bytes has no directory to read it from")
    count = product(dims)
    if count > MAX_CONSTANT_ELEMENTS:
        raise OnnxImportError(f"{what} stores {count:,} elements in '{location}', more than {limit_text('MAX_CONSTANT_ELEMENTS')}")
    if tensor.data_type == TensorProto.STRING:
        raise OnnxImportError(f"{what}: strings cannot be stored as external data")
    try:
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        raise OnnxImportError(f"{what} has an unknown data type ({tensor.data_type})") from None
    packed = tensor.data_type in {getattr(TensorProto, n) for n in ("INT4", "UINT4", "FLOAT4E2M1") if hasattr(TensorProto, n)}
    needed = (count + 1) // 2 if packed else count * itemsize
    offset = _entry_int(entries, "offset", 0, what)
    length = _entry_int(entries, "length", needed, what)
    if length != needed:
        raise OnnxImportError(f"{what}: its external data is {length:,} bytes long, but shape {dims} needs {needed:,}")
    try:
        raw = read_below(base_dir, location, offset=offset, length=length, cap=needed, limit="MAX_CONSTANT_ELEMENTS")
    except MissingFile as exc:
        return Unknown(dims, reason=f"is stored in a file that is not there ({exc})")
    except ModelFileError as exc:
        raise OnnxImportError(f"{what}: external data refused: {exc} (cnncalc reads only regular files below the model's directory)") from None
    copy = TensorProto(name=tensor.name, data_type=tensor.data_type, dims=dims, raw_data=raw)
    return numpy_helper.to_array(copy)


def _entry_int(entries, key, default, what) -> int:
    text = entries.get(key)
    if text is None:
        return default
    if not text.isdigit() or not text.isascii():
        raise OnnxImportError(f"{what}: its external data's {key} {text!r} is not a byte count")
    return int(text)
