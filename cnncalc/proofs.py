"""Sympy proofs about receptive fields (``cnncalc prove receptive-field``).

(a) The closed form of Araujo, Norris & Sim (Distill 2019, eq. for ``r_0``)::

        r_0 = sum_{l=1}^{L} (k_l - 1) prod_{i=1}^{l-1} s_i + 1

    from the backward recurrence ``r_{l-1} = s_l r_l + (k_l - s_l)``, ``r_L = 1``, by induction on
    the number of layers L, with kernels ``k_l`` and strides ``s_l`` symbolic (sympy IndexedBase).
    Base case and inductive step are each an equation checked by ``simplify(lhs - rhs) == 0``. The
    step adds a layer in front of an L-layer network (layers 2..L+1, whose field is ``r_1`` by the
    hypothesis) and uses two facts about finite sums and products, each also checked by sympy on
    the explicit instances L = 1..6: a factor ``s_1`` moves into every product of the sum, and the
    ``l = 1`` term of the sum is ``k_1 - 1`` (an empty product is 1).
(b) Corollary: N stacked FxF stride-1 convolutions see ``N F - N + 1`` pixels, the field of one
    ``(NF-N+1) x (NF-N+1)`` convolution (three 5x5 -> 13).
(c) The parameter comparison behind VGG (Simonyan & Zisserman 2015, section 2.3): with C channels
    in and out and no bias, the stack has ``N F^2 C^2`` weights, the single layer
    ``(NF-N+1)^2 C^2`` (three 3x3: 27 C^2 against 49 C^2 for one 7x7).

Sympy is imported here only; nothing on the numeric CLI path imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .kinds import SpecError


@dataclass(frozen=True)
class Step:
    """One claim ``lhs = rhs`` with the check sympy ran on it."""

    title: str
    lhs: object
    rhs: object
    note: str = ""

    @property
    def difference(self):
        import sympy

        return sympy.simplify(self.lhs - self.rhs)

    @property
    def holds(self) -> bool:
        return self.difference == 0


@dataclass(frozen=True)
class Proof:
    """A sequence of checked steps plus the derived objects (closed form, corollary, instance)."""

    title: str
    steps: tuple
    results: dict = field(default_factory=dict)
    instance: dict = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return all(step.holds for step in self.steps)

    def step(self, title_start: str) -> Step:
        for step in self.steps:
            if step.title.lower().startswith(title_start.lower()):
                return step
        raise KeyError(title_start)

    # -- output ---------------------------------------------------------------------------
    def text(self) -> str:
        import sympy

        lines = [self.title, "=" * len(self.title), ""]
        for n, step in enumerate(self.steps, 1):
            verdict = "holds" if step.holds else "FAILS"
            lines.append(f"{n}. {step.title}")
            if step.note:
                lines.append(f"   {step.note}")
            lines.append(f"   {sympy.sstr(step.lhs)}")
            lines.append(f"     = {sympy.sstr(step.rhs)}")
            lines.append(f"   simplify(lhs - rhs) = {step.difference}: {verdict}")
            lines.append("")
        for key, value in self.instance.items():
            lines.append(f"{key}: {value}")
        lines.append("")
        lines.append("Q.E.D." if self.holds else "the proof does NOT hold")
        return "\n".join(lines)

    def latex(self) -> str:
        import sympy

        body = []
        for step in self.steps:
            body.append(r"\paragraph{" + _tex_escape(step.title) + "}")
            if step.note:
                body.append(_tex_escape(step.note))
            body.append(r"\begin{align*}")
            body.append(f"  & {sympy.latex(step.lhs)} \\\\")
            body.append(f"  &= {sympy.latex(step.rhs)}")
            body.append(r"\end{align*}")
            body.append(r"Checked: $\operatorname{simplify}(\mathrm{lhs}-\mathrm{rhs}) = " + sympy.latex(step.difference) + "$.")
            body.append("")
        if self.instance:
            body.append(r"\paragraph{Instance}")
            body.append(r"\begin{itemize}")
            for key, value in self.instance.items():
                body.append(r"  \item " + _tex_escape(key) + ": $" + (sympy.latex(value) if not isinstance(value, str) else _tex_escape(value)) + "$")
            body.append(r"\end{itemize}")
        body.append(r"\hfill$\blacksquare$" if self.holds else r"\textbf{The proof does not hold.}")
        return "\n".join(
            [
                r"\documentclass{article}",
                r"\usepackage{amsmath,amssymb}",
                r"\begin{document}",
                r"\section*{" + _tex_escape(self.title) + "}",
                *body,
                r"\end{document}",
            ]
        )


def _tex_escape(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&").replace("#", r"\#")


def closed_form(L, lo=1):
    """``sum_{l=lo}^{L} (k_l - 1) prod_{i=lo}^{l-1} s_i + 1`` with IndexedBase ``k``, ``s``."""
    import sympy

    k, s = sympy.IndexedBase("k"), sympy.IndexedBase("s")
    l, i = sympy.symbols("l i", integer=True, positive=True)
    return sympy.Sum((k[l] - 1) * sympy.Product(s[i], (i, lo, l - 1)), (l, lo, L)) + 1


def recurrence_field(L):
    """``r_0`` of a concrete L-layer network by running ``r_{l-1} = s_l r_l + (k_l - s_l)`` from ``r_L = 1``."""
    import sympy

    k, s = sympy.IndexedBase("k"), sympy.IndexedBase("s")
    r = sympy.Integer(1)
    for layer in range(L, 0, -1):
        r = s[layer] * r + (k[layer] - s[layer])
    return sympy.expand(r)


def prove_receptive_field(n: int | None = None, f: int | None = None) -> Proof:
    """The induction proof, the N x (FxF) corollary and the parameter comparison.

    ``n`` and ``f`` (both or neither) add the exercise instance (default 3 and 5: a 13x13 field).
    """
    import sympy

    k, s = sympy.IndexedBase("k"), sympy.IndexedBase("s")
    l, i = sympy.symbols("l i", integer=True, positive=True)
    L = sympy.Symbol("L", integer=True, positive=True)
    N, F, C = sympy.symbols("N F C", integer=True, positive=True)
    term = (k[l] - 1) * sympy.Product(s[i], (i, 1, l - 1))

    steps = []
    # (a) base case: one layer.
    steps.append(
        Step(
            "Base case L = 1: the recurrence s_1 r_1 + (k_1 - s_1) with r_1 = 1 equals the closed form",
            s[1] * 1 + (k[1] - s[1]),
            closed_form(1).doit(),
        )
    )
    # (a) the two facts about finite sums/products used by the step, checked on L = 1..6.
    tail = sympy.Sum(term, (l, 2, L + 1))  # the network 2..L+1, seen from the input
    shifted = sympy.Sum((k[l] - 1) * sympy.Product(s[i], (i, 2, l - 1)), (l, 2, L + 1))
    for small in range(1, 7):
        moved = sympy.simplify((s[1] * shifted).subs(L, small).doit() - tail.subs(L, small).doit())
        split = sympy.simplify(closed_form(L + 1).subs(L, small).doit() - (k[1] - 1) - tail.subs(L, small).doit() - 1)
        if moved != 0 or split != 0:  # pragma: no cover - sympy would have to be wrong
            raise AssertionError(f"lemma fails at L = {small}")
    B = sympy.Symbol("T")  # stands for the tail sum sum_{l=2}^{L+1} (k_l - 1) prod_{i=1}^{l-1} s_i
    # (a) inductive step.
    hypothesis = shifted + 1  # r_1 for layers 2..L+1 (induction hypothesis)
    steps.append(
        Step(
            "Inductive step: r_0 = s_1 r_1 + (k_1 - s_1), with r_1 the closed form of layers 2..L+1, "
            "equals the closed form of layers 1..L+1",
            s[1] * (B / s[1] + 1) + (k[1] - s[1]),
            (k[1] - 1) * 1 + B + 1,
            note=(
                "With T = sum_{l=2}^{L+1} (k_l - 1) prod_{i=1}^{l-1} s_i: the hypothesis gives "
                f"r_1 = {sympy.sstr(hypothesis)} = T/s_1 + 1 (s_1 moves into each product), and the "
                "closed form of layers 1..L+1 is its l = 1 term (k_1 - 1) (empty product 1) plus T, plus 1; "
                "both facts checked by sympy for L = 1..6."
            ),
        )
    )
    # (a) sanity: closed form equals the unrolled recurrence for concrete depths.
    for depth in (2, 3, 4):
        steps.append(
            Step(
                f"Check L = {depth}: unrolled recurrence equals the closed form",
                recurrence_field(depth),
                sympy.expand(closed_form(depth).doit()),
            )
        )
    # (b) corollary: N stacked FxF stride-1 convolutions.
    stack = closed_form(N).xreplace({k[l]: F, s[i]: sympy.Integer(1)}).doit()  # k_l = F, s_i = 1
    single = (closed_form(1).doit()).subs(k[1], N * F - N + 1)
    steps.append(Step("Corollary: N stacked FxF stride-1 convolutions have field N F - N + 1", stack, N * F - N + 1))
    steps.append(Step("... the field of a single (NF-N+1)x(NF-N+1) convolution", single, stack))
    # (c) parameters, C channels in and out, no bias.
    stack_params = N * F**2 * C**2
    single_params = (N * F - N + 1) ** 2 * C**2
    steps.append(
        Step(
            "Parameters (C channels in and out, no bias): the stack has N F^2 C^2, the single layer (NF-N+1)^2 C^2",
            single_params - stack_params,
            sympy.expand((N * F - N + 1) ** 2 * C**2 - N * F**2 * C**2),
            note="the difference; for N = 3, F = 3 it is 49 C^2 - 27 C^2 = 22 C^2",
        )
    )
    results = {
        "closed_form": closed_form(L),
        "stack_field": sympy.expand(stack),
        "single_field": single,
        "stack_params": stack_params,
        "single_params": single_params,
        "symbols": {"k": k, "s": s, "L": L, "N": N, "F": F, "C": C},
    }
    if (n is None) != (f is None):
        raise SpecError("give both --n and --f, or neither")
    n, f = (3, 5) if n is None else (n, f)
    field_value = sympy.expand(stack).subs({N: n, F: f})
    instance = {
        f"{n} stacked {f}x{f} convolutions see": f"{field_value}x{field_value} pixels (N F - N + 1 = {n}*{f} - {n} + 1 = {field_value})",
        f"parameters, {n} x {f}x{f} stack": stack_params.subs({N: n, F: f}),
        f"parameters, one {field_value}x{field_value} layer": single_params.subs({N: n, F: f}),
    }
    results["instance"] = {"n": n, "f": f, "field": field_value, "stack_params": stack_params.subs({N: n, F: f}), "single_params": single_params.subs({N: n, F: f})}
    return Proof("Receptive field of a stack of convolutions (Araujo et al., Distill 2019)", tuple(steps), results, instance)
