"""The type stub src/python/convmtx/__init__.pyi (installed with the package): it imports, declares every
public name (convmtx.__all__), and each function's parameters (names, kinds, defaults) are the runtime's
(inspect.signature; the first line of the docstring for the C++ functions)."""

import ast
import inspect
import os
import re

import pytest

import convmtx

STUB = os.path.join(os.path.dirname(convmtx.__file__), "__init__.pyi")


def stub_tree():
    with open(STUB, encoding="utf-8") as f:
        return ast.parse(f.read(), STUB)


def test_stub_is_installed_next_to_the_package_and_imports():
    assert os.path.exists(STUB) and os.path.exists(os.path.join(os.path.dirname(STUB), "py.typed"))
    ns = {}
    with open(STUB, encoding="utf-8") as f:
        exec(compile(f.read(), STUB, "exec"), ns)  # every name it uses resolves
    assert issubclass(ns["LinearOperator"], __import__("scipy.sparse.linalg").sparse.linalg.LinearOperator)


def test_every_public_name_is_declared():
    declared = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            declared.add(node.target.id)
    assert set(convmtx.__all__) <= declared, set(convmtx.__all__) - declared
    for name in convmtx.__all__:
        assert hasattr(convmtx, name), name


def _stub_params(fn):
    a = fn.args
    out = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(pos, defaults):
        out.append((arg.arg, "positional", None if d is None else ast.literal_eval(d) if not
                    (isinstance(d, ast.Constant) and d.value is Ellipsis) else ...))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "keyword", None if d is None else ast.literal_eval(d) if not
                    (isinstance(d, ast.Constant) and d.value is Ellipsis) else ...))
    if a.kwarg:
        out.append((a.kwarg.arg, "varkw", None))
    return out


def _runtime_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # pybind11: "name(spec: ..., transpose: bool = False) -> ..."
        params = re.match(r"\w+\((.*)\) ->", obj.__doc__.splitlines()[0]).group(1)
        out = []
        for p in params.split(", "):
            name, _, default = p.partition(" = ")
            out.append((name.split(":")[0], "positional", ast.literal_eval(default) if default else None))
        return out
    out = []
    for p in sig.parameters.values():
        kind = {p.POSITIONAL_ONLY: "positional", p.POSITIONAL_OR_KEYWORD: "positional", p.KEYWORD_ONLY: "keyword",
                p.VAR_KEYWORD: "varkw"}[p.kind]
        d = None if p.default is p.empty else p.default
        out.append((p.name, kind, d))
    return out


def test_function_signatures_match_the_runtime():
    funcs = {n.name: n for n in stub_tree().body if isinstance(n, ast.FunctionDef)}
    checked = 0
    for name in convmtx.__all__:
        obj = getattr(convmtx, name)
        if name not in funcs or inspect.isclass(obj):
            continue
        stub, runtime = _stub_params(funcs[name]), _runtime_params(obj)
        assert [p[:2] for p in stub] == [p[:2] for p in runtime], name
        for (pname, _, sd), (_, _, rd) in zip(stub, runtime):
            if sd is not ...:
                assert sd == rd, (name, pname, sd, rd)
            else:
                assert rd is not None, (name, pname)
        checked += 1
    assert checked >= 35


@pytest.mark.parametrize("method", ["matvec", "rmatvec", "matmat", "rmatmat", "tosparse", "todense"])
def test_linear_operator_methods_are_declared(method):
    cls = next(n for n in stub_tree().body if isinstance(n, ast.ClassDef) and n.name == "LinearOperator")
    assert method in {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}
    assert callable(getattr(convmtx.LinearOperator, method))
