"""definition.compare: what changed between two versions, as an admin reviews a revision."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st

from conftest import LAPOR
from runner import durations
from runner.definition import Role, Text, TimeLimit, load_text
from runner.definition.compare import compare

SOURCE = LAPOR.read_text(encoding="utf-8")
BASE = load_text(SOURCE, str(LAPOR))


def revised(text: str):
    return load_text(text, "revised.yaml")


def test_the_same_version_has_no_changes():
    c = compare(BASE, BASE)
    assert not c.changed
    assert c == compare(BASE, revised(SOURCE + "\n# a comment only\n"))


def test_a_time_limit_written_otherwise_is_not_a_change_but_a_new_one_is():
    same = revised(SOURCE.replace("time_limit: 30 menit", "time_limit: PT30M", 1))
    assert not compare(BASE, same).changed
    longer = revised(SOURCE.replace("time_limit: 30 menit", "time_limit: 1 jam", 1))
    (change,) = compare(BASE, longer).time_limits_changed
    assert (change.step.id, change.old, change.new) == ("terima_disposisi", "30 menit", "1 jam")


def test_a_new_name_with_the_same_id_is_a_rename():
    new = revised(SOURCE.replace("id: penerimaan disposisi laporan", "id: Penerimaan disposisi laporan", 1))
    c = compare(BASE, new)
    (r,) = c.steps_renamed
    assert r.old.id == r.new.id == "terima_disposisi"
    assert str(r.new.name).startswith("Penerimaan")
    assert not (c.steps_added or c.steps_removed or c.step_ids_changed)


def test_the_same_name_with_a_new_id_is_one_step_not_one_removed_and_one_added():
    c = compare(BASE, revised(SOURCE.replace("input_laporan", "catat_laporan")))
    (r,) = c.step_ids_changed
    assert (r.old.id, r.new.id) == ("input_laporan", "catat_laporan")
    assert r.old.name == r.new.name
    assert not (c.steps_added or c.steps_removed or c.steps_renamed)


def test_a_changed_translation_is_a_rename():
    step = BASE.activities[0]
    name = step.name if isinstance(step.name, Text) else Text(str(step.name))
    other = Text(name.id, (("en", "Something else entirely"),))
    c = compare(BASE, replace(BASE, activities=(replace(step, name=other), *BASE.activities[1:])))
    assert [r.new.id for r in c.steps_renamed] == [step.id]


def test_roles_added_and_removed_and_performers_changed():
    kasi = BASE.role("kasi")
    roles = tuple(r for r in BASE.roles if r.id != "kasi") + (Role("sekretaris", "Sekretaris"),)
    step = BASE.activities[1]
    changed = replace(step, performers=("kadis", *step.performers))
    c = compare(BASE, replace(BASE, roles=roles, activities=(BASE.activities[0], changed, *BASE.activities[2:])))
    assert [r.id for r in c.roles_added] == ["sekretaris"]
    assert [(r.id, r.name) for r in c.roles_removed] == [("kasi", kasi.name)]
    (p,) = c.performers_changed
    assert p.step.id == step.id and set(p.new) - set(p.old) == {"kadis"}
    reordered = replace(changed, performers=tuple(reversed(changed.performers)))
    assert not compare(replace(BASE, activities=(BASE.activities[0], changed, *BASE.activities[2:])),
                       replace(BASE, activities=(BASE.activities[0], reordered, *BASE.activities[2:]))).changed


# A revision made of random edits to each step: compare must report exactly those edits.
OPS = ("keep", "drop", "rename", "reid", "limit", "perform")


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.sampled_from(OPS), min_size=len(BASE.activities), max_size=len(BASE.activities)),
       added=st.integers(0, 3))
def test_random_edits_are_reported_exactly(ops, added):
    new_steps, expect = [], {op: set() for op in OPS}
    for a, op in zip(BASE.activities, ops):
        expect[op].add(a.id)
        if op == "drop":
            continue
        if op == "rename":
            a = replace(a, name=f"{a.name} (revisi)")
        elif op == "reid":
            a = replace(a, id=f"{a.id}_baru")
        elif op == "limit":
            a = replace(a, time_limit=None if a.time_limit else TimeLimit("2 jam", durations.parse("2 jam")))
        elif op == "perform":
            a = replace(a, performers=("kasi",) if set(a.performers) != {"kasi"} else ("kabid",))
        new_steps.append(a)
    template = BASE.activities[0]
    for i in range(added):
        new_steps.append(replace(template, id=f"langkah_tambahan_{i}", no=100 + i, name=f"Langkah tambahan {i}"))
    c = compare(BASE, replace(BASE, activities=tuple(new_steps)))
    assert {s.id for s in c.steps_removed} == expect["drop"]
    assert {s.id for s in c.steps_added} == {f"langkah_tambahan_{i}" for i in range(added)}
    assert {r.old.id for r in c.steps_renamed} == expect["rename"]
    assert {(r.old.id, r.new.id) for r in c.step_ids_changed} == {(i, f"{i}_baru") for i in expect["reid"]}
    assert {t.step.id for t in c.time_limits_changed} == expect["limit"]
    assert {p.step.id for p in c.performers_changed} == expect["perform"]
    assert c.changed == (any(op != "keep" for op in ops) or added > 0)
    back = compare(replace(BASE, activities=tuple(new_steps)), BASE)  # and the other way round
    assert {s.id for s in back.steps_added} == expect["drop"]
    assert {s.id for s in back.steps_removed} == {s.id for s in c.steps_added}
