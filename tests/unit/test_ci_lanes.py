"""CI's lanes (tests/conftest.py): cpu_bound tests in two xdist groups, round robin;
a module whose tests share a module-scoped fixture stays in one lane."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import CPU_LANES, pytest_collection_modifyitems


class Item:
    def __init__(self, nodeid: str, *marks: str, module_fixture: bool = False) -> None:
        self.nodeid = nodeid
        self.marks = {name: getattr(pytest.mark, name).mark for name in marks}
        module = nodeid.split("::")[0]
        defs = [SimpleNamespace(scope="module", baseid=module)] if module_fixture else []
        self._fixtureinfo = SimpleNamespace(name2fixturedefs={"f": defs})

    def get_closest_marker(self, name: str):
        return self.marks.get(name)

    def add_marker(self, mark) -> None:
        self.marks[mark.name] = mark.mark

    @property
    def group(self) -> str | None:
        mark = self.marks.get("xdist_group")
        return mark.args[0] if mark else None


def test_lanes_when_cpu_bound_then_round_robin_and_others_left_alone():
    items = [Item(f"tests/m.py::t{i}", "slow", "cpu_bound") for i in range(4)]
    items.append(Item("tests/d.py::dry_run", "slow"))
    pytest_collection_modifyitems(None, items)
    assert [i.group for i in items] == [
        "cpu-lane-0", "cpu-lane-1", "cpu-lane-0", "cpu-lane-1", None
    ]  # fmt: skip
    assert CPU_LANES == 2


def test_lanes_when_module_fixture_shared_then_the_module_in_one_lane():
    items = [Item(f"tests/b.py::t{i}", "cpu_bound", module_fixture=True) for i in range(3)]
    items += [Item("tests/c.py::t", "cpu_bound")]
    pytest_collection_modifyitems(None, items)
    assert [i.group for i in items] == ["cpu-lane-0"] * 3 + ["cpu-lane-1"]


def test_lanes_when_group_given_then_kept():
    item = Item("tests/x.py::t", "cpu_bound")
    item.marks["xdist_group"] = pytest.mark.xdist_group("port-8765").mark
    pytest_collection_modifyitems(None, [item])
    assert item.group == "port-8765"
