"""Every public function of lstm_core has a numpydoc docstring that matches its signature.

The style guide asks for "docstrings in numpydoc form with the shape of every array". This
checks the part a machine can: the docstring parses into sections (a title line underlined
with dashes); a callable with parameters has a ``Parameters`` section naming exactly the
signature's parameters, in order; a function that returns a value has a ``Returns`` section.
Covered: the functions of ``lstm_core.__all__``, the optimizers (their constructor and
public methods) and the public functions of ``lstm_core.reference``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import lstm_core as lc
from lstm_core import reference

#: A numpydoc parameter line: ``name : type`` or ``a, b : type`` (no indent), or a bare name.
_PARAM_LINE = re.compile(r"^(?P<names>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?::.*)?$")


def _public_callables():
    """``(qualified name, callable)`` for every callable this test covers."""
    out = []
    for name in lc.__all__:
        obj = getattr(lc, name)
        if inspect.isfunction(obj):
            out.append((name, obj))
        elif inspect.isclass(obj) and name in ("SGD", "Adam"):
            out.append((name, obj))
            for meth_name, meth in vars(obj).items():
                if not meth_name.startswith("_") and inspect.isfunction(meth):
                    out.append((f"{name}.{meth_name}", meth))
    for name, obj in vars(reference).items():
        if (
            not name.startswith("_")
            and inspect.isfunction(obj)
            and obj.__module__ == reference.__name__
        ):
            out.append((f"reference.{name}", obj))
    return out


def parse_sections(doc: str) -> dict[str, list[str]]:
    """Split a docstring into ``{title: body lines}``; the text before any title is ``""``.

    A section starts with a title line followed by a line of dashes at least as long.
    """
    lines = inspect.cleandoc(doc).splitlines()
    sections: dict[str, list[str]] = {"": []}
    current = ""
    k = 0
    while k < len(lines):
        line = lines[k]
        underline = lines[k + 1].strip() if k + 1 < len(lines) else ""
        title = line.strip()
        if title and underline and set(underline) == {"-"} and len(underline) >= len(title):
            if title in sections:
                raise ValueError(f"section {title!r} appears twice")
            current = title
            sections[current] = []
            k += 2
            continue
        sections[current].append(line)
        k += 1
    return sections


def documented_parameters(body: list[str]) -> list[str]:
    """Names listed by a ``Parameters`` section: its unindented lines, split at commas."""
    names = []
    for line in body:
        if not line.strip() or line[:1].isspace():
            continue
        m = _PARAM_LINE.match(line.strip())
        if m is None:
            raise ValueError(f"not a numpydoc parameter line: {line!r}")
        names.extend(n.strip() for n in m["names"].split(","))
    return names


def signature_parameters(obj) -> list[str]:
    """The parameter names a caller passes (``self`` excluded)."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    names = list(inspect.signature(target).parameters)
    return names[1:] if names and names[0] == "self" else names


def returns_value(func) -> bool:
    """Whether the function's own body has a ``return <expr>`` (not ``None``) or a ``yield``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    fdef = tree.body[0]

    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # a nested function's returns are its own
            if isinstance(child, (ast.Yield, ast.YieldFrom)):
                return True
            if isinstance(child, ast.Return) and child.value is not None:
                value = child.value
                if not (isinstance(value, ast.Constant) and value.value is None):
                    return True
            if walk(child):
                return True
        return False

    return walk(fdef)


def problems_of(name: str, obj) -> list[str]:
    """What is wrong with one callable's docstring (empty if nothing)."""
    doc = obj.__doc__
    if not doc or not doc.strip():
        return [f"{name}: no docstring"]
    try:
        sections = parse_sections(doc)
    except ValueError as e:
        return [f"{name}: {e}"]
    problems = []
    summary = [line for line in sections[""] if line.strip()]
    if not summary or not doc.lstrip().startswith(summary[0].strip()):
        problems.append(f"{name}: no one-line summary first")
    params = signature_parameters(obj)
    if params:
        if "Parameters" not in sections:
            problems.append(f"{name}: no Parameters section (signature: {', '.join(params)})")
        else:
            try:
                listed = documented_parameters(sections["Parameters"])
            except ValueError as e:
                problems.append(f"{name}: Parameters: {e}")
            else:
                if listed != params:
                    problems.append(f"{name}: Parameters lists {listed}, signature has {params}")
    if not inspect.isclass(obj) and returns_value(obj) and "Returns" not in sections:
        problems.append(f"{name}: returns a value but has no Returns section")
    return problems


def test_parser_reads_numpydoc_sections():
    doc = """Summary.

    More text.

    Parameters
    ----------
    a, b : array (N, H)
        Two arrays.
    c : int

    Returns
    -------
    array (N, H)
    """
    sections = parse_sections(doc)
    assert list(sections) == ["", "Parameters", "Returns"]
    assert documented_parameters(sections["Parameters"]) == ["a", "b", "c"]

    def f(x):
        def inner():
            return 1

        return None

    def g(x):
        yield x

    assert not returns_value(f)
    assert returns_value(g)


def test_public_docstrings_have_numpydoc_parameters_and_returns():
    covered = _public_callables()
    assert len(covered) > 60, f"found only {len(covered)} public callables"
    problems = [p for name, obj in covered for p in problems_of(name, obj)]
    assert not problems, (
        f"{len(problems)} docstring problem(s) (numpydoc: a 'Parameters' section naming every "
        "parameter in order, 'Returns' when a value is returned):\n  " + "\n  ".join(problems)
    )
