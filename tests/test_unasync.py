"""Tests for tools/unasync.py, the generator of the sync facade (STYLE.md item 4)."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tools/ is not a package: import the generator the way the command line runs it.
sys.path.insert(0, str(ROOT / "tools"))

import unasync  # noqa: E402  (needs the sys.path entry above)

RULES = {"AsyncMailbox": "Mailbox", "aclose": "close", "_async": "_sync"}
PAIRS = ((Path("pkg/_async"), Path("pkg/_sync")), (Path("tests/_async"), Path("tests/_sync")))


def conv(source: str, rules: dict[str, str] | None = None) -> str:
    """Convert dedented source with the given rules (the test rules by default)."""
    return unasync.convert(textwrap.dedent(source), RULES if rules is None else rules)


def make_tree(root: Path, files: dict[str, str]) -> None:
    """Write dedented files under root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


SOURCES = {
    "pkg/_async/__init__.py": '"""The _async package."""\n',
    "pkg/_async/box.py": """\
        class AsyncMailbox:
            async def aclose(self) -> None:
                pass
        """,
    "tests/_async/test_box.py": """\
        import pytest

        from pkg._async.box import AsyncMailbox


        @pytest.mark.anyio
        async def test_close() -> None:
            await AsyncMailbox().aclose()
        """,
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository with sources in both pairs, and its sync twins generated."""
    make_tree(tmp_path, SOURCES)
    unasync.write(PAIRS, RULES, root=tmp_path)
    return tmp_path


# Conversions


def test_async_def() -> None:
    assert conv("async def f():\n    pass\n") == "def f():\n    pass\n"
    assert conv("class C:\n    async  def f(self): ...\n") == "class C:\n    def f(self): ...\n"


def test_async_with_and_async_for() -> None:
    source = """\
        async def f(a, b, items):
            async with a, b:
                async for item in items:
                    pass
            async with a as x, b as y:
                return [i async for i in items]
        """
    assert conv(source) == textwrap.dedent("""\
        def f(a, b, items):
            with a, b:
                for item in items:
                    pass
            with a as x, b as y:
                return [i for i in items]
        """)


def test_await_removed_in_every_form() -> None:
    source = """\
        async def f(x):
            await x.go()
            y = await (x)
            z = await(x)
            return not await  x.done()
        """
    assert conv(source) == textwrap.dedent("""\
        def f(x):
            x.go()
            y = (x)
            z = (x)
            return not x.done()
        """)


def test_keywords_only_as_whole_words() -> None:
    source = "import asyncio\nawaitable = asyncio.async_thing\nmy_async = 1\n"
    assert conv(source, {}) == source


def test_renames_whole_names_only() -> None:
    source = """\
        from pkg._async.box import AsyncMailbox
        x: "AsyncMailbox" = AsyncMailbox()
        y = MyAsyncMailboxes, AsyncMailboxFactory, aclosed, aclosing, my_async, _asyncio
        x.aclose()
        """
    assert conv(source) == textwrap.dedent("""\
        from pkg._sync.box import Mailbox
        x: "Mailbox" = Mailbox()
        y = MyAsyncMailboxes, AsyncMailboxFactory, aclosed, aclosing, my_async, _asyncio
        x.close()
        """)


def test_longest_rule_wins_and_rules_do_not_chain() -> None:
    rules = {"_anyio": "_socket", "pkg._backends._anyio": "pkg.blocking", "A": "B", "B": "C"}
    assert conv("import pkg._backends._anyio\n", rules) == "import pkg.blocking\n"
    assert conv("import other._anyio\n", rules) == "import other._socket\n"
    assert conv("A, B\n", rules) == "B, C\n"


def test_used_rules_are_recorded() -> None:
    used: set[str] = set()
    unasync.convert("x = AsyncMailbox\n", RULES, used=used)
    assert used == {"AsyncMailbox"}


def test_bad_rule_is_an_error() -> None:
    with pytest.raises(unasync.UnasyncError, match="bad rename rule"):
        unasync.convert("x = 1\n", {"a b": "c"})


def test_docstrings_and_comments_converted() -> None:
    source = '''\
        async def open_box():
            """Open it: ``async with AsyncMailbox.open(url) as box``, then ``await box.aclose()``.

            Iterate with ``async for info in folder.search(q)``.
            """
            # async with keeps the connection open; aclose() ends it.
        '''
    assert conv(source) == textwrap.dedent('''\
        def open_box():
            """Open it: ``with Mailbox.open(url) as box``, then ``box.close()``.

            Iterate with ``for info in folder.search(q)``.
            """
            # with keeps the connection open; close() ends it.
        ''')


def test_anyio_mark_removed() -> None:
    source = """\
        import pytest

        class TestBox:
            @pytest.mark.anyio
            async def test_a(self) -> None:
                pass

        @pytest.mark.anyio
        @pytest.mark.anyio(reason="not exact")
        async def test_b() -> None:
            '''A docstring line that reads like the mark stays:
            @pytest.mark.anyio
            '''
        """
    assert conv(source) == textwrap.dedent("""\
        import pytest

        class TestBox:
            def test_a(self) -> None:
                pass

        @pytest.mark.anyio(reason="not exact")
        def test_b() -> None:
            '''A docstring line that reads like the mark stays:
            @pytest.mark.anyio
            '''
        """)


# Directives


def test_remove_directive() -> None:
    source = """\
        import anyio  # unasync: remove
        x = 1
            # unasync: remove
        """
    assert conv(source) == "x = 1\n"


def test_replace_directive_is_verbatim() -> None:
    source = """\
        async def f():
            await anyio.sleep(0)  # unasync: time.sleep(0)  # AsyncMailbox stays here
            lock = anyio.Lock()  #unasync:lock = threading.Lock()
            # unasync: only_in_sync(AsyncMailbox)
        """
    assert conv(source) == textwrap.dedent("""\
        def f():
            time.sleep(0)  # AsyncMailbox stays here
            lock = threading.Lock()
            only_in_sync(AsyncMailbox)
        """)


def test_directive_in_a_string_is_text() -> None:
    source = 'x = "# unasync: remove"\n'
    assert conv(source) == source


def test_empty_directive_is_an_error() -> None:
    with pytest.raises(unasync.UnasyncError, match=r"<source>:1: empty '# unasync:' directive"):
        conv("x = 1  # unasync:\n")


# Generation


def test_line_structure_kept(tree: Path) -> None:
    source = (tree / "tests/_async/test_box.py").read_text(encoding="utf-8").splitlines()
    target = (tree / "tests/_sync/test_box.py").read_text(encoding="utf-8").splitlines()
    assert len(target) == 1 + len(source) - 1  # the header, minus the removed mark
    assert target[1:] == [
        "import pytest",
        "",
        "from pkg._sync.box import Mailbox",
        "",
        "",
        "def test_close() -> None:",
        "    Mailbox().close()",
    ]
    assert source[5] == "@pytest.mark.anyio"


def test_header_and_valid_python(tree: Path) -> None:
    generated = unasync.generate(PAIRS, RULES, root=tree)
    assert sorted(generated) == [
        tree / "pkg/_sync/__init__.py",
        tree / "pkg/_sync/box.py",
        tree / "tests/_sync/test_box.py",
    ]
    for target, content in generated.items():
        source = Path(str(target.relative_to(tree)).replace("_sync", "_async"))
        first, _, rest = content.partition("\n")
        assert first == f"# Generated by tools/unasync.py from {source.as_posix()}. Do not edit."
        ast.parse(content)
        assert "async" not in rest
    assert generated[tree / "pkg/_sync/__init__.py"].endswith('\n"""The _sync package."""\n')


def test_nested_directories(tmp_path: Path) -> None:
    make_tree(tmp_path, {"pkg/_async/sub/deep.py": "async def f(): ...\n"})
    generated = unasync.generate(PAIRS, {}, root=tmp_path)
    assert generated == {
        tmp_path / "pkg/_sync/sub/deep.py": (
            "# Generated by tools/unasync.py from pkg/_async/sub/deep.py. Do not edit.\n"
            "def f(): ...\n"
        )
    }


def test_invalid_output_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {"pkg/_async/bad.py": "if x:\n    y()  # unasync: remove\n"})
    with pytest.raises(unasync.UnasyncError, match=r"pkg/_sync/bad.py:.*not valid Python"):
        unasync.generate(PAIRS, {}, root=tmp_path)


def test_invalid_source_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {"pkg/_async/bad.py": "def f(:\n"})
    with pytest.raises(unasync.UnasyncError, match=r"pkg/_async/bad.py:1: source is not valid"):
        unasync.generate(PAIRS, {}, root=tmp_path)


# Regeneration and --check


def test_check_passes_when_current(tree: Path) -> None:
    assert unasync.check(PAIRS, RULES, root=tree) == []


def test_check_stale_file(tree: Path) -> None:
    path = tree / "pkg/_sync/box.py"
    path.write_text(path.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    [problem] = unasync.check(PAIRS, RULES, root=tree)
    assert problem.startswith("stale: pkg/_sync/box.py\n")
    assert "--- pkg/_sync/box.py (on disk)" in problem
    assert "+++ pkg/_sync/box.py (generated)" in problem
    assert "-# edited by hand" in problem


def test_check_missing_file(tree: Path) -> None:
    (tree / "tests/_sync/test_box.py").unlink()
    assert unasync.check(PAIRS, RULES, root=tree) == [
        "missing: tests/_sync/test_box.py (from tests/_async/test_box.py)"
    ]


def test_check_stray_file(tree: Path) -> None:
    make_tree(tree, {"pkg/_sync/old.py": "x = 1\n", "pkg/_sync/notes.txt": "not Python\n"})
    assert unasync.check(PAIRS, RULES, root=tree) == [
        "stray: pkg/_sync/old.py (no source file generates it)"
    ]


def test_check_unused_rule(tree: Path) -> None:
    rules = {**RULES, "AsyncFolder": "Folder"}
    assert unasync.check(PAIRS, rules, root=tree) == ["unused rename rule: AsyncFolder -> Folder"]


def test_rules_are_used_across_all_pairs(tmp_path: Path) -> None:
    make_tree(tmp_path, {"pkg/_async/a.py": "x = AsyncMailbox\n", "tests/_async/b.py": "y = 1\n"})
    unasync.write(PAIRS, {"AsyncMailbox": "Mailbox"}, root=tmp_path)
    assert unasync.check(PAIRS, {"AsyncMailbox": "Mailbox"}, root=tmp_path) == []


def test_no_sources_means_every_rule_is_unused(tmp_path: Path) -> None:
    assert unasync.check(PAIRS, {"aclose": "close"}, root=tmp_path) == [
        "unused rename rule: aclose -> close"
    ]


def test_write_only_changes_and_deletes_strays(tree: Path) -> None:
    make_tree(tree, {"tests/_sync/test_gone.py": "x = 1\n"})
    stale = tree / "pkg/_sync/box.py"
    stale.write_text("x = 1\n", encoding="utf-8")
    changes, unused = unasync.write(PAIRS, RULES, root=tree)
    assert changes == ["wrote pkg/_sync/box.py", "deleted tests/_sync/test_gone.py"]
    assert unused == []
    assert not (tree / "tests/_sync/test_gone.py").exists()
    assert unasync.check(PAIRS, RULES, root=tree) == []
    assert unasync.write(PAIRS, RULES, root=tree) == ([], [])


def test_main_check(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert unasync.main(["--check"], root=tree, pairs=PAIRS, rules=RULES) == 0
    out, err = capsys.readouterr()
    assert out == "unasync: pkg/_sync and tests/_sync are current.\n"
    assert err == ""

    (tree / "pkg/_sync/box.py").unlink()
    make_tree(tree, {"tests/_sync/stray.py": "x = 1\n"})
    rules = {**RULES, "AsyncFolder": "Folder"}
    assert unasync.main(["--check"], root=tree, pairs=PAIRS, rules=rules) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "3 problem(s)" in err
    assert "missing: pkg/_sync/box.py" in err
    assert "stray: tests/_sync/stray.py" in err
    assert "unused rename rule: AsyncFolder -> Folder" in err


def test_main_regenerates(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "pkg/_sync/box.py").unlink()
    assert unasync.main([], root=tree, pairs=PAIRS, rules=RULES) == 0
    assert capsys.readouterr().out == "unasync: wrote pkg/_sync/box.py\n"
    assert unasync.main([], root=tree, pairs=PAIRS, rules=RULES) == 0
    assert "already current" in capsys.readouterr().out


def test_main_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"pkg/_async/bad.py": "def f(:\n"})
    assert unasync.main(["--check"], root=tmp_path, pairs=PAIRS, rules={}) == 1
    assert "unasync: error: pkg/_async/bad.py:1" in capsys.readouterr().err


def test_real_repository_is_current() -> None:
    """The committed sync code matches its async source (fails while _async/ is empty)."""
    result = subprocess.run(
        [sys.executable, "tools/unasync.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
