"""The derivative table: the only place in scalargrad that knows any calculus.

One row per primitive: its forward value, its local derivatives, a readable formula
of each, and a phrase saying in words what the op does to the gradient coming back
through it (`scalargrad explain` prints it next to the formula). `local(ans, *xs)`
receives the forward output `ans` so rules such as exp, tanh and sigmoid reuse it.
Operands are called x (and y) in the formulas.
Each row also carries its forward value and local derivatives as small JavaScript
expressions in x, y and ans (`js_forward`, `js_local`, `js_kink`): the interactive page
(`scalargrad.page`) recomputes the graph in the browser from these columns, and a row
without them fails the tests.
The same row once more over NumPy arrays (`np_forward`, `np_local`), for `scalargrad sweep`,
which pushes every point through the graph at once: callables that receive the numpy module
as their first argument (this module never imports it, so `grad` starts without NumPy). A
value outside an op's domain comes out as nan or inf there, point by point, never raised.
Where a quick NumPy form would lose digits (a quotient or power below the normal floats), the
points are recomputed by the Python rule: one rule, whichever path evaluates it.
And the row's second derivatives (`second`), for `scalargrad hessian` (forward over reverse):
f''(x) for one operand, d2/dx2, d2/dxdy, d2/dy2 for two, from ans and the operands, in forms
as stable as the local derivatives.
And the row's rule for truncated Taylor series (`taylor`), for `scalargrad grad --order N`:
the coefficients of its result along one moving input from its operands' (a Cauchy product for
*, and for a function the equation g' = f'(x) x' solved coefficient by coefficient).

Adding a function is one row here (with `function=True`) and one row in
docs/language.md: the grammar accepts any `name(expr)` and the parser checks the name
against `FUNCTIONS`, `Value` gets a method of the same name from this table, and the
tests check that every row is reachable from the language and from `Value` and is
documented. Nothing outside this module knows any op by name.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Callable

from scalargrad.errors import DomainError, UsageError


@dataclass(frozen=True)
class Op:
    name: str  # key stored in Value._op
    symbol: str  # how the graph and the tables show it
    arity: int
    forward: Callable[..., float]
    local: Callable[..., tuple[float, ...]]  # (ans, *xs) -> d ans / d x_i for each operand
    formulas: tuple[str, ...]  # d ans / d x_i, readable, for docs and explanations
    is_function: bool = False  # callable by name in the language, e.g. tanh(x)
    kink: Callable[..., bool] | None = None  # True where the op is not differentiable
    # How the op treats the gradient coming back through it, in words (`scalargrad explain`).
    phrase: str = ""
    # What to do when d ans / d x_i is infinite or undefined, one per operand ("" for the
    # generic advice); shown as the hint of that error.
    hints: tuple[str, ...] = ()
    # How the language spells the call when it differs from `name`: the row `logb` is
    # `log(x, y)`, so `log` is called with one argument or two.
    spelling: str = ""
    # The same row in JavaScript, for the interactive page (`scalargrad dot -o graph.html`):
    # expressions in x, y and ans (and Math), evaluated in the browser. The page's forward
    # value, local derivatives and kink test come only from these; tests/test_page.py checks
    # in a real browser that they agree with `forward`, `local` and `kink`.
    js_forward: str = ""
    js_local: tuple[str, ...] = ()  # one per operand, like `formulas`
    js_kink: str = ""  # only for rows with `kink`
    # The same row over NumPy arrays, for `scalargrad sweep`: np_forward(np, x[, y]) and
    # np_local(np, ans, x[, y]) -> one array per operand, elementwise (`np` is the numpy module,
    # passed in so that only the sweep imports it). Outside the domain they give nan or inf;
    # tests/test_sweep.py checks that they agree with `forward` and `local` at many points.
    np_forward: Callable[..., object] | None = None
    np_local: Callable[..., tuple] | None = None
    # The second derivatives, for `scalargrad hessian` (forward over reverse): second(ans, x) ->
    # (f''(x),) for one operand, second(ans, x, y) -> (d2/dx2, d2/dxdy, d2/dy2) for two, in forms
    # that overflow or underflow only where the true value does (tests/test_numerics.py holds
    # every row to 50-digit arithmetic); nan where it is undefined.
    second: Callable[..., tuple[float, ...]] | None = None
    # The truncated Taylor series, for `scalargrad grad --order N` (derivatives of any order along
    # one input): taylor(ans, x[, y]) -> the result's coefficients c[k] = (d^k / dt^k) / k! for
    # k = 0..n-1, from the operands' coefficients (lists of n floats, x[0] their values). nan
    # where the derivatives do not exist (a kink). tests/test_order.py holds every row to mpmath.
    taylor: Callable[..., list[float]] | None = None

    @property
    def called(self) -> str:
        """The name a program calls the function by."""
        return self.spelling or self.name

    @property
    def usage(self) -> str:
        """A call as a program writes it, operands named as in the formulas: `max(x, y)`."""
        return f"{self.called}({', '.join('xy'[:self.arity])})"

    @property
    def derivatives(self) -> str:
        """The local derivatives in words, as docs/language.md lists them."""
        if self.arity == 1:
            return self.formulas[0]
        return "; ".join(f"d/d{'xy'[i]}: {formula}" for i, formula in enumerate(self.formulas))


# -- numerics: a derivative must not over- or underflow on the way when its value is a float ---
# A rule's obvious formula can leave the float range halfway although its result would fit:
# -x/(y*y) is 0 or a ZeroDivisionError at x = y = 1e-200 (y*y underflows), and 1 - tanh(x)**2 is
# 0 from |x| > 19 on although sech(x)**2 stays above 0 until |x| > 372. The rows below use forms
# whose every intermediate is a float when the result is; where none exists they scale by
# powers of two (exact) or, for a power whose own value underflowed, work in 40 digits.
_SMALLEST_NORMAL = sys.float_info.min  # below it a float has fewer than 53 significant bits


def _wide():
    """A 40-digit decimal context, made on first use: `decimal` costs start-up, and only a power
    whose own value underflowed needs it."""
    import decimal

    return decimal, decimal.Context(prec=40, Emin=decimal.MIN_EMIN, Emax=decimal.MAX_EMAX,
                                    traps=[decimal.InvalidOperation, decimal.DivisionByZero])


def _scaled_product(factors: tuple[float, ...], divisors: tuple[float, ...] = (), exponent: int = 0) -> float:
    """The product of `factors` over the product of `divisors` (times 2**exponent), with no
    overflow or underflow on the way: significands and exponents of two are combined separately
    (`frexp` is exact), so the result is inf or a subnormal only when the true value is. One
    rounding per operand."""
    significand = 1.0
    for value, divide in [(f, False) for f in factors] + [(d, True) for d in divisors]:
        m, e = math.frexp(value)
        significand = significand / m if divide else significand * m
        exponent += -e if divide else e
        significand, e = math.frexp(significand)
        exponent += e
    try:
        return math.ldexp(significand, exponent)
    except OverflowError:
        return math.copysign(math.inf, significand)


def _div(x: float, y: float) -> float:
    if y == 0:
        raise DomainError("division by zero")
    return x / y


def _div_local(ans: float, x: float, y: float) -> tuple[float, float]:
    # d/dy = -x/y**2 = -ans/y: one more rounding, and out of range only when -x/y**2 is (y*y
    # underflows at 1e-200). A quotient that is subnormal lost digits: divide x by y twice, scaled.
    if abs(ans) >= _SMALLEST_NORMAL:
        d_divisor = -ans / y
    else:
        d_divisor = -_scaled_product((x,), (y, y))
    return 1.0 / y, d_divisor


def _pow(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise DomainError("0 raised to a negative power")
    if x < 0 and y != math.floor(y):
        raise DomainError("a negative number raised to a fractional power (the result would be complex)")
    try:
        return float(x**y)
    except OverflowError:
        raise DomainError("the result is too large (overflow)") from None


def _pow_local(ans: float, x: float, y: float) -> tuple[float, float]:
    """d/dx = y * x**(y-1), computed as y * ans / x; d/dy = ans * log(x), for x > 0 only.

    Not y * x**(y-1) itself: y - 1 is rounded, and x**(y-1) can overflow where the product does
    not (x = 5e-324, y = 1e-20). When ans underflowed (x**y below 2.2e-308), its lost digits
    are recomputed in 40 digits, since y * x**y / x can still be an ordinary float (x = 1e-200, y = 2).
    """
    if x == 0:
        # 0**y is 0 for y > 0 (1 for y = 0); its slope is 0 past y = 1, 1 at y = 1 and
        # infinite below, like sqrt at 0. d/dy is 0 coming from y > 0, undefined at y = 0.
        d_base = 0.0 if y == 0 or y > 1 else 1.0 if y == 1 else math.inf
        return d_base, 0.0 if y > 0 else math.nan
    if abs(ans) >= _SMALLEST_NORMAL:
        d_base = _scaled_product((y, ans), (x,))
        d_exponent = ans * math.log(x) if x > 0 else math.nan
        return d_base, d_exponent
    decimal, wide = _wide()
    power = wide.power(decimal.Decimal(x), decimal.Decimal(y))
    d_base = float(wide.divide(wide.multiply(decimal.Decimal(y), power), decimal.Decimal(x)))
    # d/dy x**y = x**y log x exists only for x > 0 (x**y is not real around y for x < 0).
    d_exponent = float(wide.multiply(power, wide.ln(decimal.Decimal(x)))) if x > 0 else math.nan
    return d_base, d_exponent


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise DomainError(f"exp({x:g}) is too large (overflow)") from None


def _log(x: float) -> float:
    if x <= 0:
        raise DomainError(f"log of a non-positive number ({x:g})")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise DomainError(f"sqrt of a negative number ({x:g})")
    return math.sqrt(x)


def _sqrt_local(ans: float, x: float) -> tuple[float]:
    return (0.5 / ans if ans else math.inf,)


def _tanh_local(ans: float, x: float) -> tuple[float]:
    # 1 - ans**2 cancels where tanh nears 1 (it is 0 from |x| > 19 on); sech(x)**2 is the same
    # value without the cancellation, squared after the division so it underflows only when
    # the true value does.
    if abs(ans) < 0.5:
        return (1.0 - ans * ans,)
    try:
        sech = 1.0 / math.cosh(x)
    except OverflowError:  # |x| > 710: sech(x)**2 < 1e-616, below every float
        return (0.0,)
    return (sech * sech,)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sigmoid_local(ans: float, x: float) -> tuple[float]:
    # ans * (1 - ans) with 1 - ans = sigmoid(-x), computed directly: 1 - ans is 0 from x > 37 on
    # although the slope stays a float until x > 745.
    return (ans * _sigmoid(-x),)


def _tan(x: float) -> float:
    return math.tan(x)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def _real(function: Callable[[float], float], name: str) -> Callable[[float], float]:
    """`function` with Python's ValueError (outside the domain) and OverflowError in words."""
    def forward(x: float) -> float:
        try:
            return function(x)
        except ValueError:
            raise DomainError(f"{name}({x:g}) is not a real number (outside the domain of {name})") from None
        except OverflowError:
            raise DomainError(f"{name}({x:g}) is too large (overflow)") from None

    return forward


def _or_infinite(function: Callable[[float], float], x: float) -> float:
    """A derivative that may exceed the floats: inf there, never an OverflowError."""
    try:
        return function(x)
    except OverflowError:
        return math.copysign(math.inf, function(math.copysign(1.0, x)))


def _arc_local(ans: float, x: float) -> tuple[float]:
    # 1 / sqrt(1 - x**2) as 1 / sqrt((1 - x) * (1 + x)): 1 - x is exact near 1, x*x is not.
    root = math.sqrt((1.0 - x) * (1.0 + x))
    return (1.0 / root if root else math.inf,)


def _log_base(x: float, base: float) -> float:
    """A logarithm with a constant base: its reciprocal slope 1 / (x * log(base)), scaled."""
    return _scaled_product((1.0,), (x, base))


def _check_positive(x: float, name: str) -> None:
    if x <= 0:
        raise DomainError(f"{name} of a non-positive number ({x:g})")


def _log1p(x: float) -> float:
    if x <= -1:
        raise DomainError(f"log1p of a number at or below -1 ({x:g})")
    return math.log1p(x)


def _logb(x: float, base: float) -> float:
    _check_positive(x, "log")
    if base <= 0 or base == 1:
        raise DomainError(f"log to the base {base:g} (a base must be positive and not 1)")
    return math.log(x) / math.log(base)


def _logb_local(ans: float, x: float, base: float) -> tuple[float, float]:
    log_base = math.log(base)
    # d/dbase = -log(x) / (base * log(base)**2) = -ans / (base * log(base))
    return _scaled_product((1.0,), (x, log_base)), _scaled_product((-ans,), (base, log_base)) if ans else 0.0


def _logsumexp(x: float, y: float) -> float:
    """log(exp(x) + exp(y)) without overflow: the larger plus log1p(exp(-|x - y|))."""
    high, low = (x, y) if x >= y else (y, x)
    return high + math.log1p(math.exp(low - high))


def _logsumexp_local(ans: float, x: float, y: float) -> tuple[float, float]:
    # the softmax of (x, y): sigmoid(x - y) and sigmoid(y - x), each without 1 - the other
    difference = x - y
    if difference - difference != 0:  # |x - y| beyond the floats: one of them is all of it
        return (1.0, 0.0) if x > y else (0.0, 1.0)
    return _sigmoid(difference), _sigmoid(-difference)


def _pick(larger: bool):
    """max (larger) or min of two numbers; at a tie each operand gets half the gradient."""
    def local(ans: float, x: float, y: float) -> tuple[float, float]:
        if x == y:
            return 0.5, 0.5
        return (1.0, 0.0) if (x > y) == larger else (0.0, 1.0)

    return local


def _homogeneous(x: float, y: float) -> tuple[float, float, float, int]:
    """x and y scaled by one power of two so that the larger is in [0.5, 1) (exact, unless the
    smaller was negligible), their hypot, and the exponent taken out."""
    _, exponent = math.frexp(max(abs(x), abs(y)))
    xs, ys = math.ldexp(x, -exponent), math.ldexp(y, -exponent)
    return xs, ys, math.hypot(xs, ys), exponent


def _hypot(x: float, y: float) -> float:
    result = math.hypot(x, y)
    if result == math.inf:
        raise DomainError(f"hypot({x:g}, {y:g}) is too large (overflow)")
    return result


def _hypot_local(ans: float, x: float, y: float) -> tuple[float, float]:
    if x == 0 and y == 0:  # a cone's tip: no slope
        return math.nan, math.nan
    _, _, h, exponent = _homogeneous(x, y)  # x / hypot(x, y) does not change with the scale
    return _over(x, h, exponent, 1), _over(y, h, exponent, 1)


def _atan2_local(ans: float, x: float, y: float) -> tuple[float, float]:
    # y / (x**2 + y**2) and -x / (x**2 + y**2), on scaled operands: the squares would overflow
    # or underflow
    if x == 0 and y == 0:
        return math.nan, math.nan
    _, _, h, exponent = _homogeneous(x, y)
    return _over(y, h * h, exponent, 2), _over(-x, h * h, exponent, 2)


def _over(value: float, scaled: float, exponent: int, degree: int) -> float:
    """value / (scaled * 2**(degree * exponent)), with value's significand divided (never a
    subnormal on the way) and the powers of two applied once at the end."""
    significand, own = math.frexp(value)
    try:
        return math.ldexp(significand / scaled, own - degree * exponent)
    except OverflowError:
        return math.copysign(math.inf, significand)


def _heaviside(x: float) -> float:
    """The unit step: 0 below 0, 1 above, and half at 0 (the midpoint, as SymPy's Heaviside)."""
    return 1.0 if x > 0 else 0.0 if x < 0 else 0.5


def _softplus(x: float) -> float:
    # log(1 + exp(x)) overflows at x = 710; max(x, 0) + log1p(exp(-|x|)) never does
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# -- second derivatives (the `second` column, for `scalargrad hessian`) ----------------------------
# The same care as the local derivatives: every intermediate is a float when the result is. A
# ratio of powers of x and y goes through `_scaled_product`, or through a chain of divisions
# that only grows or only shrinks (so no step leaves the floats before the result does); a
# difference that cancels (1 + y log x, log(b) + 2, 1 - 2 sigmoid(x)) is written without it or
# worked out in 40 digits.
def _flat1(ans: float, x: float) -> tuple[float]:
    return (0.0,)


def _flat2(ans: float, x: float, y: float) -> tuple[float, float, float]:
    return 0.0, 0.0, 0.0


def _normal(value: float) -> bool:
    """A float with all 53 significant bits: neither subnormal, 0, inf nor nan."""
    return _SMALLEST_NORMAL <= abs(value) < math.inf


def _div_second(ans: float, x: float, y: float) -> tuple[float, float, float]:
    # d2/dxdy = -1/y**2 and d2/dy2 = 2x/y**3 = 2 ans / y / y: each step divides by y again, so the
    # chain only grows or only shrinks; scaled where a quotient on the way lost digits
    cross = -(1.0 / y) / y
    if not _normal(cross):
        cross = -_scaled_product((1.0,), (y, y))
    curve = 2.0 * ans / y / y
    if not (_normal(ans) and _normal(curve)):
        curve = _scaled_product((2.0, x), (y, y, y))
    return 0.0, cross, curve


def _pow_second(ans: float, x: float, y: float) -> tuple[float, float, float]:
    """y (y-1) x**(y-2); x**(y-1) (1 + y log x); x**y log(x)**2 (the last two for x > 0 only).

    From ans as the local derivatives are (y - 1 is exact where it matters, x**(y-2) never
    formed); 1 + y log x cancels near x = e**(-1/y), and a power that underflowed lost its
    digits: both are worked out in 40 digits there."""
    if x == 0:
        # 0**y: the slope in x is 0 for y = 0 and y > 1, 1 at y = 1, infinite in between (a kink)
        curve = 2.0 if y == 2 else 0.0 if y in (0.0, 1.0) or y > 2 else math.copysign(math.inf, y - 1)
        return curve, 0.0 if y > 1 else math.nan, 0.0 if y > 0 else math.nan
    if not _normal(ans):
        return _pow_second_wide(x, y)
    curve = _scaled_product((y, y - 1.0, ans), (x, x))
    if x < 0:  # x**y is not real around a negative base's integer exponent: no y derivatives
        return curve, math.nan, math.nan
    log_x = math.log(x)
    factor = 1.0 + y * log_x
    if abs(factor) < 0.5:
        decimal, wide = _wide()
        factor = float(wide.add(1, wide.multiply(decimal.Decimal(y), wide.ln(decimal.Decimal(x)))))
    return curve, _scaled_product((ans, factor), (x,)), _scaled_product((ans, log_x, log_x))


def _pow_second_wide(x: float, y: float) -> tuple[float, float, float]:
    """`_pow_second` for a power below the normal floats, in 40 digits."""
    decimal, wide = _wide()
    big_x, big_y = decimal.Decimal(x), decimal.Decimal(y)
    power = wide.power(big_x, big_y)
    curve = float(wide.divide(wide.multiply(wide.multiply(big_y, big_y - 1), power), wide.multiply(big_x, big_x)))
    if x < 0:
        return curve, math.nan, math.nan
    log_x = wide.ln(big_x)
    cross = float(wide.divide(wide.multiply(power, wide.add(1, wide.multiply(big_y, log_x))), big_x))
    return curve, cross, float(wide.multiply(power, wide.multiply(log_x, log_x)))


def _tanh_second(ans: float, x: float) -> tuple[float]:
    # -2 tanh(x) sech(x)**2, with sech squared last (as in _tanh_local) so that only the final
    # product can be subnormal
    if abs(ans) < 0.5:
        return (-2.0 * ans * (1.0 - ans * ans),)
    try:
        sech = 1.0 / math.cosh(x)
    except OverflowError:  # |x| > 710: below every float, as the slope
        return (0.0,)
    return ((-2.0 * ans * sech) * sech,)


def _sigmoid_second(ans: float, x: float) -> tuple[float]:
    # s (1 - s) (1 - 2s), where 1 - 2s cancels near x = 0 (it is 0 for |x| < 1e-16): 1 - 2s is
    # -tanh(x / 2), exactly
    return (-_sigmoid_local(ans, x)[0] * math.tanh(0.5 * x),)


def _sqrt_second(ans: float, x: float) -> tuple[float]:
    # -1 / (4 x**1.5) = -(0.25 / ans) / x: both divisions grow (x < 1) or both shrink (x > 1)
    return (-(0.25 / ans) / x,)


def _atan_second(ans: float, x: float) -> tuple[float]:
    # -2x / (1 + x**2)**2; past |x| = 1e150, 1 + x*x is x*x and would overflow: -2 / x**3
    if abs(x) < 1e150:
        denominator = 1.0 + x * x
        return (-2.0 * x / denominator / denominator,)
    return (-2.0 * (1.0 / x) / x / x,)


def _arc_second(ans: float, x: float) -> tuple[float]:
    # x / (1 - x**2)**1.5, with 1 - x**2 as (1 - x)(1 + x), exact near 1 and -1
    room = (1.0 - x) * (1.0 + x)
    return (x / (room * math.sqrt(room)) if room else math.copysign(math.inf, x),)


def _hypot_second(ans: float, x: float, y: float) -> tuple[float, float, float]:
    # y**2 / r**3, -xy / r**3, x**2 / r**3 with r = hypot(x, y) = h * 2**e: x and y as given,
    # r scaled, so nothing is squared or cubed on the way
    if x == 0 and y == 0:
        return math.nan, math.nan, math.nan
    _, _, h, exponent = _homogeneous(x, y)
    cube = (h, h, h)
    return (_scaled_product((y, y), cube, -3 * exponent), _scaled_product((-x, y), cube, -3 * exponent),
            _scaled_product((x, x), cube, -3 * exponent))


def _atan2_second(ans: float, x: float, y: float) -> tuple[float, float, float]:
    # -2xy / r**4, (x - y)(x + y) / r**4, 2xy / r**4: x - y and x + y on the scaled operands
    # (exact, or the smaller negligible), r scaled as in hypot
    if x == 0 and y == 0:
        return math.nan, math.nan, math.nan
    xs, ys, h, exponent = _homogeneous(x, y)
    fourth = (h, h, h, h)
    curve = _scaled_product((2.0, x, y), fourth, -4 * exponent)
    return -curve, _scaled_product((xs - ys, xs + ys), fourth, -2 * exponent), curve


def _logb_second(ans: float, x: float, base: float) -> tuple[float, float, float]:
    """log(x) / log(b): -1 / (x**2 log b), -1 / (x b log(b)**2), and log(x) (log(b) + 2) /
    (b**2 log(b)**3) = ans (log(b) + 2) / (b log b)**2, whose log(b) + 2 cancels near b = e**-2."""
    log_base = math.log(base)
    shift = log_base + 2.0
    if abs(shift) < 0.5:
        decimal, wide = _wide()
        shift = float(wide.add(wide.ln(decimal.Decimal(base)), 2))
    return (-_scaled_product((1.0,), (x, x, log_base)), -_scaled_product((1.0,), (x, base, log_base, log_base)),
            _scaled_product((ans, shift), (base, base, log_base, log_base)) if ans else 0.0)


def _logsumexp_second(ans: float, x: float, y: float) -> tuple[float, float, float]:
    # s (1 - s) with s = sigmoid(x - y), each factor without 1 - the other. x - y is rounded:
    # its rounding error (exact, from the two-sum) moves s (1 - s) by the factor 1 - tanh(d/2) err,
    # which matters where s (1 - s) is small and d large
    difference = x - y
    if difference - difference != 0:
        return 0.0, 0.0, 0.0
    low_y = difference - x
    error = (x - (difference - low_y)) - (y + low_y)
    curve = _sigmoid(difference) * _sigmoid(-difference)
    if error:
        curve *= 1.0 - math.tanh(0.5 * difference) * error
    return curve, -curve, curve


# -- Taylor series (the `taylor` column, for `scalargrad grad --order N`) --------------------------
# A node's series along the one input t that moves: c[k] = (d^k node / dt^k) / k!, k = 0..n-1.
# Each row maps its operands' series to its own: a Cauchy product for *, the recurrence of a
# quotient for /, and for a function g = f(x) the differential equation g' = f'(x) x', solved one
# coefficient at a time (k g[k] = sum over j of j x[j] q[k-j], q the series of f'(x)), where
# f'(x) is itself a series made from x and g (exp: g; tanh: 1 - g**2; log: 1/x). Griewank and
# Walther, Evaluating Derivatives, chapter 13. Exact but for rounding: no differences, and no
# pass nested in another. q[0] is the row's own local derivative, in its stable form.
def _s_constant(value: float, n: int) -> list[float]:
    return [value] + [0.0] * (n - 1)


def _s_mul(a: list[float], b: list[float]) -> list[float]:
    return [sum(a[i] * b[k - i] for i in range(k + 1)) for k in range(len(a))]


def _s_div(a: list[float], b: list[float]) -> list[float]:
    """a / b: c[k] = (a[k] - sum over j >= 1 of b[j] c[k-j]) / b[0]."""
    c: list[float] = []
    for k in range(len(a)):
        c.append((a[k] - sum(b[j] * c[k - j] for j in range(1, k + 1))) / b[0])
    return c


def _s_reciprocal(b: list[float], first: float | None = None) -> list[float]:
    """1 / b, its first coefficient `first` when given (a row's own stable 1 / b[0])."""
    r0 = 1.0 / b[0] if first is None else first
    r = [r0]
    for k in range(1, len(b)):
        r.append(-r0 * sum(b[j] * r[k - j] for j in range(1, k + 1)))
    return r


def _s_sqrt(a: list[float], root: float) -> list[float]:
    """sqrt(a), root = sqrt(a[0]): s[k] = (a[k] - sum of s[j] s[k-j], 0 < j < k) / (2 root)."""
    if root == 0:
        return [root] + [math.nan] * (len(a) - 1)  # the slope is infinite at 0
    s = [root]
    for k in range(1, len(a)):
        s.append((a[k] - sum(s[j] * s[k - j] for j in range(1, k))) / (2.0 * root))
    return s


def _s_ode(x: list[float], start: float, q: list[float]) -> list[float]:
    """g with g[0] = start and g' = q x' (q known): k g[k] = sum over j of j x[j] q[k-j]."""
    return [start] + [sum(j * x[j] * q[k - j] for j in range(1, k + 1)) / k for k in range(1, len(x))]


def _s_ode_self(x: list[float], start: float, q_at: Callable[[list[float], int], float]) -> list[float]:
    """g with g[0] = start and g' = q x', where q[m] = q_at(g, m) needs g up to m only."""
    g, q = [start], []
    for k in range(1, len(x)):
        q.append(q_at(g, k - 1))
        g.append(sum(j * x[j] * q[k - j] for j in range(1, k + 1)) / k)
    return g


def _s_square(g: list[float], m: int) -> float:
    """The m-th coefficient of g**2."""
    return sum(g[i] * g[m - i] for i in range(m + 1))


def _s_pair(x: list[float], first: float, second: float, sign: float) -> tuple[list[float], list[float]]:
    """(f, h) with f' = h x' and h' = sign f x': sin and cos (sign -1), sinh and cosh (+1)."""
    f, h = [first], [second]
    for k in range(1, len(x)):
        f.append(sum(j * x[j] * h[k - j] for j in range(1, k + 1)) / k)
        h.append(sign * sum(j * x[j] * f[k - j] for j in range(1, k + 1)) / k)
    return f, h


def _s_exp(x: list[float], start: float) -> list[float]:
    return _s_ode_self(x, start, lambda g, m: g[m])


def _s_sigmoid(x: list[float]) -> list[float]:
    """sigmoid(x): g' = g h x' with h = 1 - g = sigmoid(-x) (h[0] without the difference)."""
    first, other = _sigmoid(x[0]), _sigmoid(-x[0])

    def slope(g: list[float], m: int) -> float:
        h = [other] + [-c for c in g[1:]]
        return sum(g[i] * h[m - i] for i in range(m + 1))

    return _s_ode_self(x, first, slope)


def _s_log(x: list[float], start: float) -> list[float]:
    return _s_ode(x, start, _s_reciprocal(x))


def _s_kink(value: float, n: int) -> list[float]:
    """At a kink: the value, and no derivatives."""
    return [value] + [math.nan] * (n - 1)


def _taylor_tanh(ans: float, x: list[float]) -> list[float]:
    first = _tanh_local(ans, x[0])[0]
    return _s_ode_self(x, ans, lambda g, m: first if m == 0 else -_s_square(g, m))


def _taylor_tan(ans: float, x: list[float]) -> list[float]:
    return _s_ode_self(x, ans, lambda g, m: 1.0 + ans * ans if m == 0 else _s_square(g, m))


def _taylor_sigmoid(ans: float, x: list[float]) -> list[float]:
    return _s_sigmoid(x)


def _taylor_expm1(ans: float, x: list[float]) -> list[float]:
    first = _or_infinite(math.exp, x[0])
    return _s_ode_self(x, ans, lambda g, m: first if m == 0 else g[m])


def _taylor_atan(ans: float, x: list[float]) -> list[float]:
    square = _s_mul(x, x)
    first = 1.0 / (1.0 + x[0] * x[0]) if abs(x[0]) < 1e150 else (1.0 / x[0]) / x[0]
    return _s_ode(x, ans, _s_reciprocal([1.0 + square[0]] + square[1:], first))


def _taylor_arc(ans: float, x: list[float]) -> list[float]:
    """asin: g' = x' / sqrt(1 - x**2), with 1 - x[0]**2 as (1 - x[0])(1 + x[0])."""
    room = (1.0 - x[0]) * (1.0 + x[0])
    if room <= 0:
        return _s_kink(ans, len(x))
    square = _s_mul(x, x)
    root = _s_sqrt([room] + [-c for c in square[1:]], math.sqrt(room))
    return _s_ode(x, ans, _s_reciprocal(root))


def _taylor_acos(ans: float, x: list[float]) -> list[float]:
    """acos = pi/2 - asin: asin's series, negated past its value."""
    return [ans] + [-c for c in _taylor_arc(0.0, x)[1:]]


def _taylor_pick(larger: bool):
    def series(ans: float, x: list[float], y: list[float]) -> list[float]:
        if x[0] == y[0]:
            return _s_kink(ans, len(x))
        return list(x) if (x[0] > y[0]) == larger else list(y)

    return series


def _taylor_step(ans: float, x: list[float]) -> list[float]:
    return _s_kink(ans, len(x)) if x[0] == 0 else _s_constant(ans, len(x))


def _taylor_relu(ans: float, x: list[float]) -> list[float]:
    if x[0] == 0:
        return _s_kink(ans, len(x))
    return list(x) if x[0] > 0 else [0.0] * len(x)


def _taylor_abs(ans: float, x: list[float]) -> list[float]:
    if x[0] == 0:
        return _s_kink(ans, len(x))
    return list(x) if x[0] > 0 else [-c for c in x]


def _taylor_pow(ans: float, x: list[float], y: list[float]) -> list[float]:
    """x**y: a constant exponent r by x g' = r g x' (or, at x = 0, by products: a whole r only);
    a moving exponent as exp(y log x), for x > 0 only."""
    n = len(x)
    if any(y[1:]):
        if x[0] <= 0:
            return _s_kink(ans, n)
        return _s_exp(_s_mul(y, _s_log(x, math.log(x[0]))), ans)
    r = y[0]
    if x[0] == 0:
        if r != math.floor(r) or r < 0:
            return _s_kink(ans, n)
        if r >= n:
            return [0.0] * n  # x starts at t**1 at least: x**r starts at t**r
        result, power, count = _s_constant(1.0, n), list(x), int(r)
        while count:
            if count & 1:
                result = _s_mul(result, power)
            power, count = _s_mul(power, power), count >> 1
        return result
    g = [ans]
    for k in range(1, n):
        g.append(sum((r * j - (k - j)) * x[j] * g[k - j] for j in range(1, k + 1)) / (k * x[0]))
    return g


def _taylor_scaled(x: list[float], y: list[float]) -> tuple[list[float], list[float], int]:
    """x and y scaled by one power of two (exact) so that the larger value is about 1."""
    _, exponent = math.frexp(max(abs(x[0]), abs(y[0])))
    return [math.ldexp(c, -exponent) for c in x], [math.ldexp(c, -exponent) for c in y], exponent


def _taylor_atan2(ans: float, x: list[float], y: list[float]) -> list[float]:
    """atan2(x, y)' = (y x' - x y') / (x**2 + y**2), on scaled operands (atan2 does not change)."""
    if x[0] == 0 and y[0] == 0:
        return _s_kink(ans, len(x))
    xs, ys, _ = _taylor_scaled(x, y)
    n = len(x)
    dx = [(m + 1) * xs[m + 1] for m in range(n - 1)] + [0.0]
    dy = [(m + 1) * ys[m + 1] for m in range(n - 1)] + [0.0]
    top = [a - b for a, b in zip(_s_mul(ys, dx), _s_mul(xs, dy))]
    bottom = [a + b for a, b in zip(_s_mul(xs, xs), _s_mul(ys, ys))]
    q = _s_div(top, bottom)
    return [ans] + [q[k - 1] / k for k in range(1, n)]


def _taylor_hypot(ans: float, x: list[float], y: list[float]) -> list[float]:
    if x[0] == 0 and y[0] == 0:
        return _s_kink(ans, len(x))
    xs, ys, exponent = _taylor_scaled(x, y)
    squares = [a + b for a, b in zip(_s_mul(xs, xs), _s_mul(ys, ys))]
    root = _s_sqrt(squares, math.hypot(xs[0], ys[0]))
    return [ans] + [_unscaled_series(c, exponent) for c in root[1:]]


def _unscaled_series(value: float, exponent: int) -> float:
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _taylor_logb(ans: float, x: list[float], base: list[float]) -> list[float]:
    return [ans] + _s_div(_s_log(x, math.log(x[0])), _s_log(base, math.log(base[0])))[1:]


def _taylor_logsumexp(ans: float, x: list[float], y: list[float]) -> list[float]:
    """g' = sigmoid(x - y) x' + sigmoid(y - x) y', each share its own series (no 1 - the other)."""
    difference = [a - b for a, b in zip(x, y)]
    share_x, share_y = _s_sigmoid(difference), _s_sigmoid([-c for c in difference])
    n = len(x)
    return [ans] + [sum(j * (x[j] * share_x[k - j] + y[j] * share_y[k - j]) for j in range(1, k + 1)) / k
                    for k in range(1, n)]


def _taylor_softplus(ans: float, x: list[float]) -> list[float]:
    return _s_ode(x, ans, _s_sigmoid(x))


def _taylor_sqrt(ans: float, x: list[float]) -> list[float]:
    return _s_sqrt(x, ans)


def _taylor_log_base(base: float):
    def series(ans: float, x: list[float]) -> list[float]:
        return _s_ode(x, ans, [c / base for c in _s_reciprocal(x)])

    return series


def _taylor_log1p(ans: float, x: list[float]) -> list[float]:
    return _s_ode(x, ans, _s_reciprocal([1.0 + x[0]] + x[1:]))


def _taylor_sin(ans: float, x: list[float]) -> list[float]:
    return _s_pair(x, ans, math.cos(x[0]), -1.0)[0]


def _taylor_cos(ans: float, x: list[float]) -> list[float]:
    return _s_pair(x, math.sin(x[0]), ans, -1.0)[1]


def _taylor_sinh(ans: float, x: list[float]) -> list[float]:
    return _s_pair(x, ans, _or_infinite(math.cosh, x[0]), 1.0)[0]


def _taylor_cosh(ans: float, x: list[float]) -> list[float]:
    return _s_pair(x, _or_infinite(math.sinh, x[0]), ans, 1.0)[1]



def _row(name, symbol, arity, forward, local, formulas, *, function=False, kink=None, phrase="", hints=(),
         spelling="", js_forward="", js_local=(), js_kink="", np_forward=None, np_local=None, second=None,
         taylor=None) -> Op:
    return Op(name, symbol, arity, forward, local, formulas, function, kink, phrase, hints, spelling, js_forward,
              js_local, js_kink, np_forward, np_local, second, taylor)


# -- the NumPy columns' helpers: elementwise, the same branches as the Python forms above --------
def _np_sigmoid(np, x):
    z = np.exp(-np.abs(x))  # as _sigmoid: 1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _np_by_rule(np, local, fast: tuple, lossy, ans, *xs) -> tuple:
    """The vectorised local derivatives `fast`, with the points where `lossy` is true (where the
    quick form loses digits: a quotient or a power below the normal floats) recomputed by the
    row's own Python rule `local`: one rule at every point, whichever path evaluates it."""
    lossy = lossy & np.isfinite(ans)
    if not np.any(lossy):
        return fast
    arrays = np.broadcast_arrays(ans, *xs, lossy)
    out = [np.array(np.broadcast_to(d, arrays[0].shape), dtype=float) for d in fast]
    for k in zip(*np.nonzero(arrays[-1])):
        for column, d in zip(out, local(*(float(a[k]) for a in arrays[:-1]))):
            column[k] = d
    return tuple(out)


def _np_lost(np, value, source):
    """Where `value` lost digits: not finite, or below the normal floats although `source`, what
    it was computed from, is not 0 (an exact 0 is exact)."""
    return ~(np.abs(value) < math.inf) | ((np.abs(value) < _SMALLEST_NORMAL) & (source != 0))


def _np_div_local(np, ans, x, y):
    return _np_by_rule(np, _div_local, (1.0 / y, -ans / y), _np_lost(np, ans, x), ans, x, y)


def _np_pow_local(np, ans, x, y):
    at_zero = np.where((y == 0) | (y > 1), 0.0, np.where(y == 1, 1.0, np.inf))
    d_base = np.where(x == 0, at_zero, y * (ans / x))
    d_exponent = np.where(x > 0, ans * np.log(np.where(x > 0, x, 1.0)), np.where((x == 0) & (y > 0), 0.0, np.nan))
    lossy = (x != 0) & (_np_lost(np, ans, x) | ~np.isfinite(d_base))  # 0 * (1 / 1e-320) is not 0
    return _np_by_rule(np, _pow_local, (d_base, d_exponent), lossy, ans, x, y)


def _np_logb_local(np, ans, x, y):
    inverse, share = 1.0 / x, -ans / y
    fast = (inverse / np.log(y), np.where(ans != 0, share / np.log(y), 0.0))

    def lost(v):  # subnormal, 0, inf or nan: digits lost on the way
        return ~(np.abs(v) >= _SMALLEST_NORMAL) | ~(np.abs(v) < math.inf)

    return _np_by_rule(np, _logb_local, fast, lost(inverse) | lost(fast[0]) | ((ans != 0) & (lost(share) | lost(fast[1]))),
                       ans, x, y)


def _np_hypot_local(np, ans, x, y):
    # x / hypot(x, y) loses digits where the hypot is subnormal: there the rule scales first
    return _np_by_rule(np, _hypot_local, (x / ans, y / ans), _np_lost(np, ans, ans), ans, x, y)


def _np_atan2_local(np, ans, x, y):
    r = np.hypot(x, y)
    over_y, over_x = y / r, x / r
    fast = (over_y / r, -over_x / r)
    lossy = (_np_lost(np, r, r) | _np_lost(np, over_y, y) | _np_lost(np, fast[0], y) | _np_lost(np, over_x, x)
             | _np_lost(np, fast[1], x))
    return _np_by_rule(np, _atan2_local, fast, lossy, ans, x, y)


def _np_tanh_local(np, ans, x):
    sech = 1.0 / np.cosh(x)
    return (np.where(np.abs(ans) < 0.5, 1.0 - ans * ans, sech * sech),)


def _np_pick(larger: bool):
    def local(np, ans, x, y):
        first = (x > y) if larger else (x < y)
        second = (y > x) if larger else (y < x)
        return np.where(x == y, 0.5, np.where(first, 1.0, 0.0)), np.where(x == y, 0.5, np.where(second, 1.0, 0.0))

    return local


def _np_logsumexp(np, x, y):
    high, low = np.maximum(x, y), np.minimum(x, y)
    return high + np.log1p(np.exp(low - high))


_TABLE = [
    # arithmetic: the grammar's operators
    _row("+", "+", 2, lambda x, y: x + y, lambda ans, x, y: (1.0, 1.0), ("1", "1"),
         phrase="+ passes the gradient through unchanged",
         js_forward="x + y", js_local=("1", "1"),
         np_forward=lambda np, x, y: x + y,
         np_local=lambda np, ans, x, y: (1.0, 1.0),
         second=_flat2,
         taylor=lambda ans, x, y: [a + b for a, b in zip(x, y)]),
    _row("-", "-", 2, lambda x, y: x - y, lambda ans, x, y: (1.0, -1.0), ("1", "-1"),
         phrase="- passes the gradient to the first operand and flips its sign for the second",
         js_forward="x - y", js_local=("1", "-1"),
         np_forward=lambda np, x, y: x - y,
         np_local=lambda np, ans, x, y: (1.0, -1.0),
         second=_flat2,
         taylor=lambda ans, x, y: [a - b for a, b in zip(x, y)]),
    _row("*", "*", 2, lambda x, y: x * y, lambda ans, x, y: (y, x), ("y", "x"),
         phrase="* swaps in the other factor",
         js_forward="x * y", js_local=("y", "x"),
         np_forward=lambda np, x, y: x * y,
         np_local=lambda np, ans, x, y: (y, x),
         second=lambda ans, x, y: (0.0, 1.0, 0.0),
         taylor=lambda ans, x, y: _s_mul(x, y)),
    _row("/", "/", 2, _div, _div_local, ("1/y", "-x/y**2"),
         phrase="/ divides the gradient by the divisor for the dividend, and scales it by -dividend/divisor**2 for the divisor",
         js_forward="x / y", js_local=("1 / y", "Math.abs(ans) >= 2.2250738585072014e-308 ? -ans / y : -(x / y) / y"),
         np_forward=lambda np, x, y: x / y,
         np_local=_np_div_local,
         second=_div_second,
         taylor=lambda ans, x, y: _s_div(x, y)),
    _row("**", "**", 2, _pow, _pow_local, ("y * x**(y-1)", "x**y * log(x)"),
         kink=lambda x, y: x == 0 and y != math.floor(y),
         phrase="** brings the exponent down for the base; for the exponent it scales by the power times log(base)",
         hints=("", "the derivative with respect to an exponent needs a positive base: keep the base above 0, "
                    "or make the exponent a number"),
         js_forward="x ** y",
         js_local=("x === 0 ? (y === 0 || y > 1 ? 0 : y === 1 ? 1 : Infinity) : y * (ans / x)",
                   "x === 0 ? (y > 0 ? 0 : NaN) : x > 0 ? ans * Math.log(x) : NaN"),
         js_kink="x === 0 && y !== Math.floor(y)",
         np_forward=lambda np, x, y: np.power(x, y),
         np_local=_np_pow_local,
         second=_pow_second,
         taylor=_taylor_pow),
    _row("neg", "-", 1, lambda x: -x, lambda ans, x: (-1.0,), ("-1",),
         phrase="unary - flips the sign of the gradient",
         js_forward="-x", js_local=("-1",),
         np_forward=lambda np, x: -x,
         np_local=lambda np, ans, x: (-1.0,),
         second=_flat1,
         taylor=lambda ans, x: [-c for c in x]),
    # `e = a` binds a second name to a node: an identity node keeps both names visible
    _row("=", "=", 1, lambda x: x, lambda ans, x: (1.0,), ("1",),
         phrase="= (a second name) passes the gradient through unchanged",
         js_forward="x", js_local=("1",),
         np_forward=lambda np, x: x,
         np_local=lambda np, ans, x: (1.0,),
         second=_flat1,
         taylor=lambda ans, x: list(x)),
    # functions: callable by name
    _row("exp", "exp", 1, _exp, lambda ans, x: (ans,), ("exp(x)",), function=True,
         phrase="exp is its own derivative: the gradient is scaled by exp's output",
         js_forward="Math.exp(x)", js_local=("ans",),
         np_forward=lambda np, x: np.exp(x),
         np_local=lambda np, ans, x: (ans,),
         second=lambda ans, x: (ans,),
         taylor=lambda ans, x: _s_exp(x, ans)),
    _row("log", "log", 1, _log, lambda ans, x: (1.0 / x,), ("1/x",), function=True,
         phrase="log scales the gradient by 1 over its input",
         js_forward="Math.log(x)", js_local=("1 / x",),
         np_forward=lambda np, x: np.log(x),
         np_local=lambda np, ans, x: (1.0 / x,),
         second=lambda ans, x: (-(1.0 / x) / x,),
         taylor=lambda ans, x: _s_log(x, ans)),
    _row("tanh", "tanh", 1, math.tanh, _tanh_local, ("1 - tanh(x)**2",), function=True,
         phrase="tanh scales the gradient by 1 minus its output squared",
         js_forward="Math.tanh(x)", js_local=("Math.abs(ans) < 0.5 ? 1 - ans * ans : (1 / Math.cosh(x)) * (1 / Math.cosh(x))",),
         np_forward=lambda np, x: np.tanh(x),
         np_local=_np_tanh_local,
         second=_tanh_second,
         taylor=_taylor_tanh),
    _row("relu", "relu", 1, lambda x: x if x > 0 else 0.0, lambda ans, x: (1.0 if x > 0 else 0.0,),
         ("heaviside(x)",), function=True, kink=lambda x: x == 0,
         phrase="relu passes the gradient where its input is positive and blocks it elsewhere",
         js_forward="x > 0 ? x : 0", js_local=("x > 0 ? 1 : 0",), js_kink="x === 0",
         np_forward=lambda np, x: np.where(x > 0, x, 0.0),
         np_local=lambda np, ans, x: (np.where(x > 0, 1.0, 0.0),),
         second=_flat1,
         taylor=_taylor_relu),
    _row("sigmoid", "sigmoid", 1, _sigmoid, _sigmoid_local,
         ("sigmoid(x) * (1 - sigmoid(x))",), function=True,
         phrase="sigmoid scales the gradient by its output times (1 - its output)",
         js_forward="x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))",
         js_local=("ans * (x <= 0 ? 1 / (1 + Math.exp(x)) : Math.exp(-x) / (1 + Math.exp(-x)))",),
         np_forward=_np_sigmoid,
         np_local=lambda np, ans, x: (ans * _np_sigmoid(np, -x),),
         second=_sigmoid_second,
         taylor=_taylor_sigmoid),
    _row("sin", "sin", 1, math.sin, lambda ans, x: (math.cos(x),), ("cos(x)",), function=True,
         phrase="sin scales the gradient by the cosine of its input",
         js_forward="Math.sin(x)", js_local=("Math.cos(x)",),
         np_forward=lambda np, x: np.sin(x),
         np_local=lambda np, ans, x: (np.cos(x),),
         second=lambda ans, x: (-ans,),
         taylor=_taylor_sin),
    _row("cos", "cos", 1, math.cos, lambda ans, x: (-math.sin(x),), ("-sin(x)",), function=True,
         phrase="cos scales the gradient by minus the sine of its input",
         js_forward="Math.cos(x)", js_local=("-Math.sin(x)",),
         np_forward=lambda np, x: np.cos(x),
         np_local=lambda np, ans, x: (-np.sin(x),),
         second=lambda ans, x: (-ans,),
         taylor=_taylor_cos),
    _row("tan", "tan", 1, _tan, lambda ans, x: (1.0 + ans * ans,), ("1 + tan(x)**2",), function=True,
         phrase="tan scales the gradient by 1 + its output squared",
         js_forward="Math.tan(x)", js_local=("1 + ans * ans",),
         np_forward=lambda np, x: np.tan(x),
         np_local=lambda np, ans, x: (1.0 + ans * ans,),
         second=lambda ans, x: (2.0 * ans * (1.0 + ans * ans),),
         taylor=_taylor_tan),
    _row("sqrt", "sqrt", 1, _sqrt, _sqrt_local, ("1 / (2*sqrt(x))",), function=True, kink=lambda x: x == 0,
         phrase="sqrt scales the gradient by 1 / (2 * its output), which grows as its input nears 0",
         js_forward="Math.sqrt(x)", js_local=("ans ? 0.5 / ans : Infinity",), js_kink="x === 0",
         np_forward=lambda np, x: np.sqrt(x),
         np_local=lambda np, ans, x: (np.where(ans != 0, 0.5 / ans, np.inf),),
         second=_sqrt_second,
         taylor=_taylor_sqrt),
    _row("atan", "atan", 1, math.atan, lambda ans, x: (1.0 / (1.0 + x * x) if abs(x) < 1e150 else (1.0 / x) / x,),
         ("1 / (1 + x**2)",), function=True,  # past |x| = 1e150, x*x would overflow: 1/x/x is exact there
         phrase="atan scales the gradient by 1 / (1 + its input squared)",
         js_forward="Math.atan(x)", js_local=("Math.abs(x) < 1e150 ? 1 / (1 + x * x) : (1 / x) / x",),
         np_forward=lambda np, x: np.arctan(x),
         np_local=lambda np, ans, x: (np.where(np.abs(x) < 1e150, 1.0 / (1.0 + x * x), (1.0 / x) / x),),
         second=_atan_second,
         taylor=_taylor_atan),
    _row("abs", "abs", 1, abs, lambda ans, x: (_sign(x),), ("sign(x)",), function=True, kink=lambda x: x == 0,
         phrase="abs passes the gradient with the sign of its input",
         js_forward="Math.abs(x)", js_local=("x > 0 ? 1 : x < 0 ? -1 : 0",), js_kink="x === 0",
         np_forward=lambda np, x: np.abs(x),
         np_local=lambda np, ans, x: (np.sign(x),),
         second=_flat1,
         taylor=_taylor_abs),
    _row("asin", "asin", 1, _real(math.asin, "asin"), _arc_local, ("1 / sqrt(1 - x**2)",), function=True,
         kink=lambda x: abs(x) == 1,
         phrase="asin scales the gradient by 1 / sqrt(1 - its input squared), which grows near -1 and 1",
         js_forward="Math.asin(x)", js_local=("1 / Math.sqrt((1 - x) * (1 + x))",), js_kink="Math.abs(x) === 1",
         np_forward=lambda np, x: np.arcsin(x),
         np_local=lambda np, ans, x: (1.0 / np.sqrt((1.0 - x) * (1.0 + x)),),
         second=_arc_second,
         taylor=_taylor_arc),
    _row("acos", "acos", 1, _real(math.acos, "acos"), lambda ans, x: (-_arc_local(ans, x)[0],),
         ("-1 / sqrt(1 - x**2)",), function=True, kink=lambda x: abs(x) == 1,
         phrase="acos scales the gradient by -1 / sqrt(1 - its input squared), which grows near -1 and 1",
         js_forward="Math.acos(x)", js_local=("-1 / Math.sqrt((1 - x) * (1 + x))",), js_kink="Math.abs(x) === 1",
         np_forward=lambda np, x: np.arccos(x),
         np_local=lambda np, ans, x: (-1.0 / np.sqrt((1.0 - x) * (1.0 + x)),),
         second=lambda ans, x: (-_arc_second(ans, x)[0],),
         taylor=_taylor_acos),
    _row("sinh", "sinh", 1, _real(math.sinh, "sinh"), lambda ans, x: (_or_infinite(math.cosh, x),),
         ("cosh(x)",), function=True, phrase="sinh scales the gradient by the cosh of its input",
         js_forward="Math.sinh(x)", js_local=("Math.cosh(x)",),
         np_forward=lambda np, x: np.sinh(x),
         np_local=lambda np, ans, x: (np.cosh(x),),
         second=lambda ans, x: (ans,),
         taylor=_taylor_sinh),
    _row("cosh", "cosh", 1, _real(math.cosh, "cosh"), lambda ans, x: (_or_infinite(math.sinh, x),),
         ("sinh(x)",), function=True, phrase="cosh scales the gradient by the sinh of its input",
         js_forward="Math.cosh(x)", js_local=("Math.sinh(x)",),
         np_forward=lambda np, x: np.cosh(x),
         np_local=lambda np, ans, x: (np.sinh(x),),
         second=lambda ans, x: (ans,),
         taylor=_taylor_cosh),
    _row("log1p", "log1p", 1, _log1p, lambda ans, x: (1.0 / (1.0 + x),), ("1 / (1 + x)",), function=True,
         phrase="log1p scales the gradient by 1 over (1 + its input)",
         js_forward="Math.log1p(x)", js_local=("1 / (1 + x)",),
         np_forward=lambda np, x: np.log1p(x),
         np_local=lambda np, ans, x: (1.0 / (1.0 + x),),
         second=lambda ans, x: (-(1.0 / (1.0 + x)) / (1.0 + x),),
         taylor=_taylor_log1p),
    _row("expm1", "expm1", 1, _real(math.expm1, "expm1"), lambda ans, x: (_or_infinite(math.exp, x),),
         ("exp(x)",), function=True, phrase="expm1 scales the gradient by exp of its input",
         js_forward="Math.expm1(x)", js_local=("Math.exp(x)",),
         np_forward=lambda np, x: np.expm1(x),
         np_local=lambda np, ans, x: (np.exp(x),),
         second=lambda ans, x: (_or_infinite(math.exp, x),),
         taylor=_taylor_expm1),
    _row("log2", "log2", 1, lambda x: (_check_positive(x, "log2"), math.log2(x))[1],
         lambda ans, x: (_log_base(x, math.log(2.0)),), ("1 / (x * log(2))",), function=True,
         phrase="log2 scales the gradient by 1 / (its input times log(2))",
         js_forward="Math.log2(x)", js_local=("(1 / Math.LN2) / x",),
         np_forward=lambda np, x: np.log2(x),
         # not (1 / x) / log(2): 1 / x overflows below 5.6e-309, where the slope is still a float
         np_local=lambda np, ans, x: ((1.0 / math.log(2.0)) / x,),
         second=lambda ans, x: (-_scaled_product((1.0,), (x, x, math.log(2.0))),),
         taylor=_taylor_log_base(math.log(2.0))),
    _row("log10", "log10", 1, lambda x: (_check_positive(x, "log10"), math.log10(x))[1],
         lambda ans, x: (_log_base(x, math.log(10.0)),), ("1 / (x * log(10))",), function=True,
         phrase="log10 scales the gradient by 1 / (its input times log(10))",
         js_forward="Math.log10(x)", js_local=("(1 / Math.LN10) / x",),
         np_forward=lambda np, x: np.log10(x),
         # not (1 / x) / log(10): 1 / x overflows below 5.6e-309, where the slope is still a float
         np_local=lambda np, ans, x: ((1.0 / math.log(10.0)) / x,),
         second=lambda ans, x: (-_scaled_product((1.0,), (x, x, math.log(10.0))),),
         taylor=_taylor_log_base(math.log(10.0))),
    _row("softplus", "softplus", 1, _softplus, lambda ans, x: (_sigmoid(x),), ("sigmoid(x)",), function=True,
         phrase="softplus scales the gradient by the sigmoid of its input",
         js_forward="Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))", js_local=("x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))",),
         np_forward=lambda np, x: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))),
         np_local=lambda np, ans, x: (_np_sigmoid(np, x),),
         second=lambda ans, x: _sigmoid_local(_sigmoid(x), x),
         taylor=_taylor_softplus),
    # steps: flat on either side of 0, so their derivative is 0 there; they make the formulas of
    # relu, abs, min and max expressions of the language
    _row("heaviside", "heaviside", 1, _heaviside, lambda ans, x: (0.0,), ("0",), function=True,
         kink=lambda x: x == 0,
         phrase="heaviside is flat on either side of 0: it passes no gradient",
         js_forward="x > 0 ? 1 : x < 0 ? 0 : 0.5", js_local=("0",), js_kink="x === 0",
         np_forward=lambda np, x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5)),
         np_local=lambda np, ans, x: (np.zeros_like(x),),
         second=_flat1,
         taylor=_taylor_step),
    _row("sign", "sign", 1, _sign, lambda ans, x: (0.0,), ("0",), function=True, kink=lambda x: x == 0,
         phrase="sign is flat on either side of 0: it passes no gradient",
         js_forward="x > 0 ? 1 : x < 0 ? -1 : 0", js_local=("0",), js_kink="x === 0",
         np_forward=lambda np, x: np.sign(x),
         np_local=lambda np, ans, x: (np.zeros_like(x),),
         second=_flat1,
         taylor=_taylor_step),
    # functions of two arguments: the operands are x and y in the formulas, as for operators
    _row("min", "min", 2, min, _pick(larger=False), ("heaviside(y - x)", "heaviside(x - y)"),
         function=True, kink=lambda x, y: x == y,
         phrase="min passes the gradient to the smaller operand (half to each at a tie)",
         js_forward="Math.min(x, y)", js_local=("x === y ? 0.5 : x < y ? 1 : 0", "x === y ? 0.5 : y < x ? 1 : 0"), js_kink="x === y",
         np_forward=lambda np, x, y: np.minimum(x, y),
         np_local=_np_pick(larger=False),
         second=_flat2,
         taylor=_taylor_pick(larger=False)),
    _row("max", "max", 2, max, _pick(larger=True), ("heaviside(x - y)", "heaviside(y - x)"),
         function=True, kink=lambda x, y: x == y,
         phrase="max passes the gradient to the larger operand (half to each at a tie)",
         js_forward="Math.max(x, y)", js_local=("x === y ? 0.5 : x > y ? 1 : 0", "x === y ? 0.5 : y > x ? 1 : 0"), js_kink="x === y",
         np_forward=lambda np, x, y: np.maximum(x, y),
         np_local=_np_pick(larger=True),
         second=_flat2,
         taylor=_taylor_pick(larger=True)),
    _row("atan2", "atan2", 2, math.atan2, _atan2_local, ("y / (x**2 + y**2)", "-x / (x**2 + y**2)"),
         function=True, kink=lambda x, y: x == 0 and y == 0,
         phrase="atan2 turns the gradient by the point's direction and divides it by its squared distance",
         js_forward="Math.atan2(x, y)", js_local=("y / Math.hypot(x, y) / Math.hypot(x, y)", "-x / Math.hypot(x, y) / Math.hypot(x, y)"), js_kink="x === 0 && y === 0",
         np_forward=lambda np, x, y: np.arctan2(x, y),
         np_local=_np_atan2_local,
         second=_atan2_second,
         taylor=_taylor_atan2),
    _row("hypot", "hypot", 2, _hypot, _hypot_local, ("x / hypot(x, y)", "y / hypot(x, y)"), function=True,
         kink=lambda x, y: x == 0 and y == 0,
         phrase="hypot passes each operand its share of the distance: the operand over the distance",
         js_forward="Math.hypot(x, y)", js_local=("x / Math.hypot(x, y)", "y / Math.hypot(x, y)"), js_kink="x === 0 && y === 0",
         np_forward=lambda np, x, y: np.hypot(x, y),
         np_local=_np_hypot_local,
         second=_hypot_second,
         taylor=_taylor_hypot),
    _row("logb", "log", 2, _logb, _logb_local, ("1 / (x * log(y))", "-log(x) / (y * log(y)**2)"),
         function=True, spelling="log",
         phrase="log to a base scales the gradient by 1 / (x log(base)) for x, and by -log(x) / (base log(base)**2) for the base",
         js_forward="x > 0 && y > 0 && y !== 1 ? Math.log(x) / Math.log(y) : NaN", js_local=("(1 / x) / Math.log(y)", "ans ? (-ans / y) / Math.log(y) : 0"),
         np_forward=lambda np, x, y: np.where((y > 0) & (y != 1), np.log(x) / np.log(y), np.nan),
         np_local=_np_logb_local,
         second=_logb_second,
         taylor=_taylor_logb),
    _row("logsumexp", "logsumexp", 2, _logsumexp, _logsumexp_local,
         ("exp(x) / (exp(x) + exp(y))", "exp(y) / (exp(x) + exp(y))"), function=True,
         phrase="logsumexp shares the gradient between its operands by their softmax",
         js_forward="Math.max(x, y) + Math.log1p(Math.exp(Math.min(x, y) - Math.max(x, y)))", js_local=("x - y >= 0 ? 1 / (1 + Math.exp(y - x)) : Math.exp(x - y) / (1 + Math.exp(x - y))", "y - x >= 0 ? 1 / (1 + Math.exp(x - y)) : Math.exp(y - x) / (1 + Math.exp(y - x))"),
         np_forward=_np_logsumexp,
         np_local=lambda np, ans, x, y: (_np_sigmoid(np, x - y), _np_sigmoid(np, y - x)),
         second=_logsumexp_second,
         taylor=_taylor_logsumexp),
]

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
FUNCTIONS: dict[str, Op] = {op.name: op for op in _TABLE if op.is_function}
# The language's view: a called name and a number of arguments -> its row (`log` has two).
CALLS: dict[str, dict[int, Op]] = {}
for _op in FUNCTIONS.values():
    CALLS.setdefault(_op.called, {})[_op.arity] = _op

# Named constants a program may read (never assign).
CONSTANTS: dict[str, float] = {"pi": math.pi}


def rule(name: str) -> Op:
    """The row of op `name`; an op with no row is a worded error, never a bare KeyError."""
    try:
        return OPS[name]
    except KeyError:
        raise UsageError(f"the op `{name}` has no row in the derivative table",
                         hint=f"the ops are {', '.join(OPS)}; build nodes with Value's operators and methods") from None


# Leaves: an input (or a hand-made Value) has op "", a numeric literal has op "const".
LEAF = ""
CONST = "const"


# -- the formulas' text ---------------------------------------------------------------------
OPERAND_NAMES = ("x", "y")  # how the formulas call the operands
_OPERAND = re.compile(r"\b([xy])\b")
ATOM = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|[0-9.]+(?:[eE][+-]?[0-9]+)?")


def substitute(formula: str, labels: dict[str, str]) -> str:
    """`formula` with x and y replaced by the operands' labels, parenthesised where needed:
    every formula a person reads (explain's chain rule, an error's local derivative) is in
    the program's own names, never in the table's x and y.

    >>> substitute("y * x**(y-1)", {"x": "a", "y": "2"})
    '2 * a**(2-1)'
    >>> substitute("1 - tanh(x)**2", {"x": "w*x + b"})
    '1 - tanh(w*x + b)**2'
    """
    if formula in labels:
        return labels[formula]

    def replace(match: re.Match) -> str:
        label = labels.get(match.group(1), match.group(1))
        start, end = match.span()
        inside_call = formula[start - 1 : start] == "(" and formula[end : end + 1] == ")"
        return label if inside_call or ATOM.fullmatch(label) else f"({label})"

    return _OPERAND.sub(replace, formula)


# -- for formulas: the rule each operator is, and the functions SymPy has not by name ------------
# `scalargrad derive` names the rule of every step of a derivation: an operator row's rule per
# operand (a product or quotient by a number is the constant multiple rule there), and a
# function row's is always the chain rule with the function as the outer one.
RULES: dict[str, tuple[str, ...]] = {
    "+": ("sum", "sum"), "-": ("sum", "sum"), "*": ("product", "product"), "/": ("quotient", "quotient"),
    "**": ("power", "exponential"), "neg": ("constant multiple",), "=": ("identity",),
}
# Each function SymPy has no function of the same name for (sympy.tanh is tanh; Abs, Heaviside,
# Min and Max are abs, heaviside, min and max), as an expression of the language in functions it
# has: `derive` keeps `relu(n)` in a formula and evaluates it to 30 digits through this.
DEFINITIONS: dict[str, str] = {
    "relu": "max(x, 0)", "sigmoid": "1 / (1 + exp(-x))", "softplus": "log(1 + exp(x))", "log1p": "log(1 + x)",
    "expm1": "exp(x) - 1", "log2": "log(x) / log(2)", "log10": "log(x) / log(10)", "hypot": "sqrt(x**2 + y**2)",
    "logsumexp": "log(exp(x) + exp(y))",
}
