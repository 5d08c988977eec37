"""The stubs name exactly the module's public names (with matching signatures where the
native objects expose them), and every public name has a docstring."""

import ast
import inspect
import pathlib

import hetile

STUB = pathlib.Path(__file__).resolve().parents[1] / "hetile" / "__init__.pyi"


def stub_tree():
    return ast.parse(STUB.read_text())


def stub_names():
    names = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def public_names():
    return set(hetile.__all__)


def test_all_matches_module():
    for name in hetile.__all__:
        assert hasattr(hetile, name), name
    exported = {n for n in dir(hetile) if not n.startswith("_")}
    exported -= {"annotations"}
    # submodules are not API
    exported = {n for n in exported if not inspect.ismodule(getattr(hetile, n))}
    assert exported | {"__version__"} == public_names()


def test_stub_names_match_public_names():
    assert stub_names() == public_names()


def stub_classes():
    return {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}


def test_stub_members_match_classes():
    for name, node in stub_classes().items():
        cls = getattr(hetile, name)
        if issubclass(cls, BaseException):
            continue
        stubbed = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
        actual = {m for m in vars(cls) if not m.startswith("_")}
        actual |= {m for m in vars(cls) if m in ("__len__", "__matmul__", "__add__", "__radd__",
                                               "__sub__", "__rsub__", "__mul__", "__rmul__",
                                               "__neg__", "__init__")}
        stubbed_public = {m for m in stubbed if not m.startswith("_") or m in actual}
        missing = {m for m in actual if not m.startswith("_")} - stubbed
        assert not missing, f"{name}: not in the stub: {missing}"
        extra = {m for m in stubbed_public if not m.startswith("_")} - actual
        assert not extra, f"{name}: stubbed but absent: {extra}"


def stub_params(fn):
    a = fn.args
    return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg != "self"]


def test_stub_signatures_match_where_exposed():
    checked = 0
    funcs = {n.name: n for n in stub_tree().body if isinstance(n, ast.FunctionDef)}
    for name, node in funcs.items():
        try:
            sig = inspect.signature(getattr(hetile, name))
        except (TypeError, ValueError):
            continue
        assert list(sig.parameters) == stub_params(node), name
        checked += 1
    for cname, cnode in stub_classes().items():
        cls = getattr(hetile, cname)
        for m in cnode.body:
            if not isinstance(m, ast.FunctionDef) or m.name.startswith("__"):
                continue
            attr = inspect.getattr_static(cls, m.name)
            target = getattr(cls, m.name)
            if isinstance(attr, property) or not callable(target):
                continue
            try:
                sig = inspect.signature(target)
            except (TypeError, ValueError):
                continue
            params = [p for p in sig.parameters if p != "self"]
            assert params == stub_params(m), f"{cname}.{m.name}: {params}"
            checked += 1
    assert checked >= 20


def test_every_public_name_has_a_docstring():
    assert hetile.__doc__
    for name in hetile.__all__:
        if name == "__version__":
            continue
        obj = getattr(hetile, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                assert getattr(value, "__doc__", None), f"{name}.{member}"
