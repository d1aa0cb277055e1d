"""Arrays as the parser sees them: a shape and a flat list of scalar nodes, row-major.

Arrays exist only while a program is read: each element is an ordinary `Value` of the
graph, so the engine, check, step, explain and dot work per element and know nothing of
arrays. This module holds the bookkeeping (shapes, NumPy's broadcasting rule, element
names); the parser builds every element's node from the derivative table's scalar rows.
Vectors and matrices only: no higher ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalargrad.engine import Value
from scalargrad.errors import ParseError
from scalargrad.ops import CONST


@dataclass(frozen=True)
class Array:
    shape: tuple[int, ...]  # (n,) or (m, n)
    items: tuple[Value, ...]  # row-major

    def row(self, i: int) -> Array:
        width = self.shape[1]
        return Array((width,), self.items[i * width : (i + 1) * width])

    def transposed(self) -> Array:
        if len(self.shape) == 1:
            return self
        rows, columns = self.shape
        return Array((columns, rows), tuple(self.items[i * columns + j] for j in range(columns) for i in range(rows)))


def shape_of(value) -> tuple[int, ...]:
    """() for a scalar node, else the array's shape."""
    return value.shape if isinstance(value, Array) else ()


def shape_text(shape: tuple[int, ...]) -> str:
    return "a scalar" if not shape else str(shape)


def broadcast(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape NumPy gives an element-wise result of operands of these shapes, or None when
    they do not broadcast: trailing dimensions match, or one of them is 1 (or missing)."""
    result = []
    for i in range(1, max(len(first), len(second)) + 1):
        a = first[-i] if i <= len(first) else 1
        b = second[-i] if i <= len(second) else 1
        if a != b and a != 1 and b != 1:
            return None
        result.append(max(a, b))
    return tuple(reversed(result))


def spread(value, shape: tuple[int, ...]) -> list[Value]:
    """The elements of `value` (a scalar or an array that broadcasts to `shape`), one per
    element of `shape`, row-major, repeated where NumPy would repeat them."""
    size = size_of(shape)
    if not isinstance(value, Array):
        return [value] * size
    if value.shape == shape:
        return list(value.items)
    own = (1,) * (len(shape) - len(value.shape)) + value.shape
    columns = shape[-1]
    items = value.items
    result = []
    for k in range(size):
        i, j = divmod(k, columns) if len(shape) == 2 else (0, k)
        row = 0 if own[0] == 1 else i
        column = 0 if own[-1] == 1 else j
        result.append(items[row * own[-1] + column] if len(shape) == 2 else items[column])
    return result


def size_of(shape: tuple[int, ...]) -> int:
    """How many elements an array of `shape` has (1 for a scalar)."""
    size = 1
    for n in shape:
        size *= n
    return size


def product_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], int] | None:
    """The shape of `A @ B` for operands of shapes `a` and `b`, and the nodes it makes (a
    product and a sum per term of each element, less one sum), or None when they do not fit."""
    if not a or not b or a[-1] != b[0]:
        return None
    rows, columns = (a[0] if len(a) == 2 else 1), (b[1] if len(b) == 2 else 1)
    shape = tuple(n for n, keep in ((rows, len(a) == 2), (columns, len(b) == 2)) if keep)
    return shape, rows * columns * (2 * a[-1] - 1)


def reduced(function: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """The shape `function` (a reduction or transpose) gives an array of `shape`, and the
    nodes it makes: n - 1 folds (and a count and a division for `mean`)."""
    if not shape:
        return shape, 0
    if function == "transpose":
        return tuple(reversed(shape)), 0
    return (), size_of(shape) - 1 + 2 * (function == "mean")


def literal_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The shape of an array literal of items of these shapes: a vector of scalars or a matrix
    of rows of one length; None when they do not make one."""
    if any(shape != shapes[0] for shape in shapes) or len(shapes[0]) > 1:
        return None
    return (len(shapes), *shapes[0])


def picked_shape(shape: tuple[int, ...], indices: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of `x[i]` or `W[i, j]`, or None for too many indices or one out of range."""
    if len(indices) > len(shape) or any(i >= n for i, n in zip(indices, shape)):
        return None
    return shape[len(indices):]


def element_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """How a program writes each element: `x[2]`, `W[0, 2]` (row-major)."""
    if len(shape) == 1:
        return [f"{name}[{i}]" for i in range(shape[0])]
    return [f"{name}[{i}, {j}]" for i in range(shape[0]) for j in range(shape[1])]


class Symbol:
    """A value not known yet: a parameter of a function being defined, or a result computed
    from one. The body of `def` is recorded as steps over symbols and replayed at each call."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "**": "raise"}
_REDUCTIONS = {"sum": "+", "mean": "+", "max": "max", "min": "min", "logsumexp": "logsumexp"}
ARRAY_FUNCTIONS = (*_REDUCTIONS, "transpose")  # called with one array


class ArrayBuilding:
    """The parser's array primitives (mixed into the parser's builder): each element of a
    result is a scalar node made by `_operation` from a row of the derivative table.

    Each primitive takes the source offsets it needs for its nodes' labels and its errors,
    and counts the nodes it will make before making any (`_afford`, in the builder, holds
    them to the size budget). Called with a `Symbol` while a function body is read, it
    records itself instead (`_record`, in the builder) and returns a new Symbol.
    """

    def elementwise(self, op: str, operands: tuple, start: int, end: int, at: int, width: int):
        """`op` applied element by element, operands broadcast NumPy's way."""
        if self.recording is not None and any(v.__class__ is Symbol for v in operands):
            return self._record("elementwise", op, operands, start, end, at, width)
        shape: tuple[int, ...] | None = ()
        for value in operands:
            shape = broadcast(shape, shape_of(value)) if shape is not None else None
        if shape is None:
            shapes = " and ".join(shape_text(shape_of(v)) for v in operands)
            verb = _VERBS.get(op)
            what = f"cannot {verb} shapes {shapes}" if verb else f"cannot apply {op} to shapes {shapes}"
            raise self._error(ParseError, what, at, width,
                              hint="element-wise operations need equal shapes, or a 1 (or a missing dimension) "
                                   "where they differ, as in NumPy")
        if not shape:
            return self._operation(op, operands, start, end)[0]
        self._afford(size_of(shape), start, end, at, width)
        columns = [spread(value, shape) for value in operands]
        items = tuple(self._operation(op, element, start, end)[0] for element in zip(*columns))
        return Array(shape, items)

    def matrix_product(self, left, right, start: int, end: int, at: int):
        """`left @ right`: every element a chain of products and sums, as the lecture's neuron."""
        if self.recording is not None and (left.__class__ is Symbol or right.__class__ is Symbol):
            return self._record("matrix_product", left, right, start, end, at)
        a, b = shape_of(left), shape_of(right)
        fits = product_shape(a, b)
        if fits is None:
            raise self._error(ParseError, f"cannot multiply shapes {shape_text(a)} and {shape_text(b)} with @", at, 1,
                              hint="`A @ B` needs arrays whose inner sizes agree: (m, n) @ (n,) or (n, p)")
        self._afford(fits[1], start, end, at, 1)
        rows = [left] if len(a) == 1 else [left.row(i) for i in range(a[0])]
        columns = right.transposed()
        columns = [columns] if len(b) == 1 else [columns.row(j) for j in range(b[1])]
        items = []
        for row in rows:
            for column in columns:
                total = self._operation("*", (row.items[0], column.items[0]), start, end)[0]
                for x, y in zip(row.items[1:], column.items[1:]):
                    product = self._operation("*", (x, y), start, end)[0]
                    total = self._operation("+", (total, product), start, end)[0]
                items.append(total)
        shape = fits[0]
        return Array(shape, tuple(items)) if shape else items[0]

    def literal(self, items: tuple, start: int, end: int, offsets: tuple[int, ...]):
        """`[a, b]` (a vector) or `[[a, b], [c, d]]` (a matrix: rows of one length)."""
        if self.recording is not None and any(v.__class__ is Symbol for v in items):
            return self._record("literal", items, start, end, offsets)
        shapes = [shape_of(item) for item in items]
        for shape, offset in zip(shapes, offsets):
            if shape != shapes[0]:
                raise self._error(ParseError, f"the elements of an array must have one shape: "
                                  f"{shape_text(shapes[0])} first, then {shape_text(shape)}", offset,
                                  hint="a matrix is a list of rows of one length: [[1, 2], [3, 4]]")
            if len(shape) > 1:
                raise self._error(ParseError, "arrays have at most two dimensions", offset,
                                  hint="a matrix is a list of rows of numbers: [[1, 2], [3, 4]]")
        if not shapes[0]:
            return Array((len(items),), tuple(items))
        return Array((len(items), shapes[0][0]), tuple(x for row in items for x in row.items))

    def pick(self, value, indices: tuple[int, ...], offsets: tuple[int, ...], start: int, end: int):
        """`x[i]`, `W[i]` (a row) or `W[i, j]`: an element or a row, no new node."""
        if self.recording is not None and value.__class__ is Symbol:
            return self._record("pick", value, indices, offsets, start, end)
        shape = shape_of(value)
        if len(indices) > len(shape):
            raise self._error(ParseError, f"too many indices for {shape_text(shape)}: {len(indices)}", offsets[0],
                              end - offsets[0], hint="a vector takes one index, `x[0]`; a matrix one or two, `W[0, 2]`")
        for index, size, offset in zip(indices, shape, offsets):
            if index >= size:
                raise self._error(ParseError, f"index {index} is out of range for shape {shape}", offset,
                                  len(str(index)), hint=f"indices start at 0: this dimension goes from 0 to {size - 1}")
        if len(indices) == len(shape):
            flat = indices[0] if len(shape) == 1 else indices[0] * shape[1] + indices[1]
            return value.items[flat]
        return value.row(indices[0])

    def reduce(self, function: str, value, start: int, end: int, width: int):
        """sum, mean, max, min, logsumexp of all elements of an array (a left fold of the
        scalar row), or transpose. Of a scalar, each is the scalar itself, as in NumPy: so a
        function such as a model's `def` takes one example or a batch."""
        if self.recording is not None and value.__class__ is Symbol:
            return self._record("reduce", function, value, start, end, width)
        if not isinstance(value, Array):
            return value
        if function == "transpose":
            return value.transposed()
        self._afford(reduced(function, value.shape)[1], start, end, start, width)
        op = _REDUCTIONS[function]
        total = value.items[0]
        for item in value.items[1:]:
            total = self._operation(op, (total, item), start, end)[0]
        if function == "mean":
            count = self._add(Value(float(len(value.items)), (), CONST), start, end)[0]
            total = self._operation("/", (total, count), start, end)[0]
        return total


# -- along an axis: reductions with `axis=`, softmax, cross_entropy ---------------------------------
# Built from the table's scalar rows like everything here: a fold of a row per slice. softmax is
# exp(v - logsumexp(v)) and cross_entropy logsumexp(logits) - logits[label] (or, for a label
# given as probabilities, sum(p * (logsumexp(logits) - logits))): the logsumexp row is stable
# (the larger operand plus log1p of the rest), so no exp ever overflows and no log meets 0.
AXIS_FUNCTIONS = tuple(_REDUCTIONS)  # take `axis=`
ARRAY_CALLS = {"softmax": "softmax(v)", "cross_entropy": "cross_entropy(logits, label)"}  # usage, for messages


def axis_of(shape: tuple[int, ...], axis: int | None) -> int | None:
    """`axis` (NumPy's: -1 is the last) as 0 or 1 for an array of `shape`, or None out of range."""
    if axis is None:
        return len(shape) - 1
    if not -len(shape) <= axis < len(shape):
        return None
    return axis % len(shape)


def along_shape(function: str, shapes: list[tuple[int, ...]], axis: int | None) -> tuple[tuple[int, ...], int] | None:
    """The shape of `function(...)` along an axis (a reduction with `axis=`, softmax, cross_entropy)
    for operands of `shapes`, and the nodes it makes; None where the shapes do not fit."""
    shape = shapes[0]
    if not shape:
        return None
    k = axis_of(shape, axis)
    if k is None:
        return None
    length = shape[k]
    slices = size_of(shape) // length
    if function == "softmax":
        return shape, slices * (3 * length - 1)
    if function == "cross_entropy":
        label = shapes[1] if len(shapes) > 1 else None
        if label == shape:  # probabilities, one per class
            return shape[:-1], slices * (4 * length - 2)
        if label == shape[:-1]:  # an index per example
            return shape[:-1], slices * length
        return None
    return shape[:k] + shape[k + 1:], slices * (length - 1 + 2 * (function == "mean"))  # mean: a count, a division


def _slices(array: Array, axis: int) -> list[tuple[Value, ...]]:
    """The 1-D slices of `array` along `axis`, in row-major order of what remains."""
    if len(array.shape) == 1:
        return [array.items]
    lines = array if axis == 1 else array.transposed()
    return [lines.row(i).items for i in range(lines.shape[0])]


def _unslice(results: list[Value], shape: tuple[int, ...], axis: int) -> Array:
    """Softmax's slices put back in place: row-major for the last axis, transposed for axis 0."""
    if len(shape) == 1 or axis == 1:
        return Array(shape, tuple(results))
    return Array((shape[1], shape[0]), tuple(results)).transposed()


class AlongBuilding:
    """The parser's functions along an axis (mixed into the builder with `ArrayBuilding`)."""

    def along(self, function: str, operands: tuple, axis: int | None, start: int, end: int, width: int):
        """`sum(W, axis=0)`, `softmax(v)`, `cross_entropy(logits, label)`: each slice along the
        axis (the last, unless `axis=` says) folded with the table's rows."""
        if self.recording is not None and any(v.__class__ is Symbol for v in operands):
            return self._record("along", function, operands, axis, start, end, width)
        shapes = [shape_of(v) for v in operands]
        fits = along_shape(function, shapes, axis)
        if fits is None:
            raise self._along_error(function, shapes, axis, start, width)
        self._afford(fits[1], start, end, start, width)
        k = axis_of(shapes[0], axis)
        slices = _slices(operands[0], k)
        if function == "softmax":
            return _unslice([item for line in slices for item in self._softmax(line, start, end)], shapes[0], k)
        if function == "cross_entropy":
            labels = self._labels(operands[1], shapes[0], start, width)
            results = [self._cross_entropy(line, label, start, end) for line, label in zip(slices, labels)]
            label = operands[1]
            if label.__class__ is Value and label._op == CONST and not label.label:  # `2`: read, not a node
                self._take_back({id(label)})
        else:
            results = [self._fold(function, line, start, end) for line in slices]
        return results[0] if not fits[0] else Array(fits[0], tuple(results))

    def _fold(self, function: str, line: tuple[Value, ...], start: int, end: int) -> Value:
        op = _REDUCTIONS[function]
        total = line[0]
        for item in line[1:]:
            total = self._operation(op, (total, item), start, end)[0]
        if function == "mean":
            count = self._add(Value(float(len(line)), (), CONST), start, end)[0]
            total = self._operation("/", (total, count), start, end)[0]
        return total

    def _softmax(self, line: tuple[Value, ...], start: int, end: int) -> list[Value]:
        total = self._fold("logsumexp", line, start, end)
        return [self._operation("exp", (self._operation("-", (item, total), start, end)[0],), start, end)[0]
                for item in line]

    def _cross_entropy(self, line: tuple[Value, ...], label, start: int, end: int) -> Value:
        total = self._fold("logsumexp", line, start, end)
        if isinstance(label, int):
            return self._operation("-", (total, line[label]), start, end)[0]
        terms = [self._operation("*", (p, self._operation("-", (total, item), start, end)[0]), start, end)[0]
                 for p, item in zip(label, line)]
        loss = terms[0]
        for term in terms[1:]:
            loss = self._operation("+", (loss, term), start, end)[0]
        return loss

    def _labels(self, label, shape: tuple[int, ...], start: int, width: int) -> list:
        """cross_entropy's labels, one per example: a class index (a constant: a number or a data
        column, a whole number from 0) or a row of probabilities (one-hot, or any)."""
        classes = shape[-1]
        if shape_of(label) == shape:  # probabilities: a row per example
            return [label.row(i).items for i in range(shape[0])] if len(shape) == 2 else [label.items]
        items = label.items if isinstance(label, Array) else (label,)
        indices = []
        for n, item in enumerate(items):
            value = item.data
            if item._op != CONST or value != int(value) or not 0 <= value < classes:
                what = "a constant" if item._op == CONST else "known when the program is read"
                example = f" (example {n})" if len(items) > 1 else ""
                raise self._error(ParseError, f"the label of cross_entropy{example} must be a class index from 0 to "
                                  f"{classes - 1}, {what}" + (f", not {value:g}" if item._op == CONST else ""), start,
                                  width, hint="give the class as a number or a data column of whole numbers, or as "
                                              "probabilities: a row of one per class (one-hot)")
            indices.append(int(value))
        return indices

    def _along_error(self, function: str, shapes: list, axis: int | None, start: int, width: int) -> ParseError:
        shape = shapes[0]
        if not shape:
            return self._error(ParseError, f"`{function}` needs an array, not a scalar" + (
                " (a scalar has no axis)" if axis is not None else ""), start, width,
                hint=f"call it with a vector or a matrix, e.g. `{ARRAY_CALLS.get(function, function + '(W, axis=0)')}`")
        if axis_of(shape, axis) is None:
            axes = "0 (down each column) and 1 (along each row), or -1 for the last" if len(shape) == 2 else "0 (or -1)"
            return self._error(ParseError, f"axis {axis} is out of range for shape {shape}", start, width,
                               hint=f"an array of shape {shape} has the axes {axes}")
        label = shape_text(shapes[1])
        return self._error(ParseError, f"cross_entropy cannot pair logits of shape {shape} with a label of shape {label}",
                           start, width, hint=f"the label is a class index per example ({shape_text(shape[:-1])}) or a "
                           f"row of probabilities per example (shape {shape})")
