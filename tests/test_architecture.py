"""The house keeps its shape: no import circle inside the package, and a backend declared
once in the registry is a choice everywhere (config, the CLI, the page)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from assistant.backends.base import BackendContext, BackendSettings, GenerationRequest, Readiness
from assistant.backends.registry import BackendSpec, register, unregister
from assistant.cli import cli
from assistant.config import Config, ConfigError, load_config
from tests.conftest import ROOT
from tests.ui_server import running_ui, ui_config

PACKAGE = ROOT / "assistant"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports, anywhere in it (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found & known


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, known) - {name} for name, path in files.items()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_no_import_circle_inside_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "assistant.answer.pipeline" in graph
    assert find_circle(graph) is None, " -> ".join(find_circle(graph) or [])


def test_the_circle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_circle(graph) == ["a", "b", "c", "a"]


def test_the_product_does_not_import_the_tooling() -> None:
    tooling = ("assistant.bench", "assistant.evaluation", "assistant.cli")
    for name, targets in import_graph().items():
        if name.startswith(tooling) or name == "assistant.doctor":
            continue
        wrong = {t for t in targets if t.startswith(tooling)}
        assert not wrong, f"{name} imports {wrong}"


# -------------------------------------------------------------- a backend registered once


class EchoSettings(BackendSettings):
    greeting: str = "你好"


class Echo:
    """A generator that says its greeting: enough to be built, listed and chosen."""

    name = "echo"

    def __init__(self, settings: EchoSettings, ctx: BackendContext) -> None:
        self.settings = settings

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield self.settings.greeting

    def complete(self, request: GenerationRequest) -> str:
        return self.settings.greeting

    def warm(self, request: GenerationRequest) -> None:
        pass

    def ready(self) -> Readiness:
        return Readiness(True, "echoes its greeting")

    def describe(self) -> str:
        return f"回声 {self.settings.greeting}"


@pytest.fixture
def echo() -> Iterator[BackendSpec]:
    spec = register(BackendSpec("echo", "回声：测试用的回答方式", EchoSettings, Echo))
    yield spec
    unregister("echo")


def test_a_registered_backend_is_valid_config_with_its_own_section(
    echo: BackendSpec, tmp_path: Path
) -> None:
    file = tmp_path / "assistant.toml"
    file.write_text('[llm]\nbackend = "echo"\n[llm.echo]\ngreeting = "hi"\n')
    cfg = load_config(file)
    assert cfg.llm.backend == "echo"
    section = cfg.llm.section("echo")
    assert isinstance(section, EchoSettings) and section.greeting == "hi"
    file.write_text('[llm.echo]\ngreting = "hi"\n')
    with pytest.raises(ConfigError, match=r"llm\.echo\.greting"):
        load_config(file)


def test_an_unregistered_backend_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "assistant.toml"
    file.write_text('[llm]\nbackend = "echo"\n')
    with pytest.raises(ConfigError, match=r"llm\.backend.*unknown backend 'echo'"):
        load_config(file)
    file.write_text('[llm.echo]\ngreeting = "hi"\n')
    with pytest.raises(ConfigError, match=r"llm\.echo"):
        load_config(file)


def test_a_registered_backend_is_a_cli_choice(echo: BackendSpec) -> None:
    for command in ("ask", "chat", "eval", "bench"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "echo" in result.output, command
    wrong = CliRunner().invoke(cli, ["ask", "问题", "--backend", "nope"])
    assert wrong.exit_code == 2 and "echo" in wrong.output


def test_a_registered_backend_is_in_the_pages_list(
    echo: BackendSpec, corpus_config: Config, tmp_path: Path
) -> None:
    cfg = ui_config(corpus_config, tmp_path / "data")
    with running_ui(cfg) as url:
        page = httpx.get(f"{url.rstrip('/')}/config", timeout=30).json()
    lists = [
        c["props"].get("choices") or [] for c in page["components"] if c.get("type") == "radio"
    ]
    backends = next(choices for choices in lists if any(v == "extractive" for _, v in choices))
    assert ["回声：测试用的回答方式", "echo"] in backends  # its plain words, ready to choose
