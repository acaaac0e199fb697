"""Hypothesis strategies for whole SOP definitions that validate.

``definitions()`` draws the plain data of a definition (what the YAML would hold): a few internal
roles, one case flow (sometimes a scheduled one too), a chain of activities each with a first action
to the next step (so everything is reachable and can finish) and up to two more actions to any step
or end of its flow — forward skips, returns for revision, a step back to itself, several ends.
Names mix hostile characters (``<``, ``&``, quotes, newlines, ``]]>``) with ordinary words.
"""

from __future__ import annotations

import yaml
from hypothesis import strategies as st

from runner.definition import check_text

HOSTILE = ["<b>", "&amp;", '"', "'", "]]>", "\n", "&", "<", ">", "--", "é", "Ω", "日本"]
WORDS = ["laporan", "verifikasi", "pimpinan", "Kadis", "OPD", "jawaban", "arsip", "rekap", "disposisi",
         "penghubung", "penyampaian", "pelapor", "masyarakat", "dokumen", "Teruskan", "Kembalikan"]

names = st.lists(st.sampled_from(WORDS + HOSTILE), min_size=1, max_size=7).map(
    lambda parts: (" ".join(parts)).strip() or "x").map(lambda s: s if s.strip() else "x")


def _flow(draw, flow_id: str, first_no: int, role_ids: list[str], scheduled: bool) -> tuple[dict, list[dict]]:
    n = draw(st.integers(1, 7))
    n_ends = draw(st.integers(1, 3))
    ids = [f"{flow_id}_a{i}" for i in range(n)]
    ends = [f"{flow_id}_e{k}" for k in range(n_ends)]
    activities = []
    for i, aid in enumerate(ids):
        first = ids[i + 1] if i + 1 < n else ends[0]
        targets = [first] + draw(st.lists(st.sampled_from(ids + ends), max_size=2))
        actions = [{"id": f"x{k}", "label": draw(names), "to": to} for k, to in enumerate(targets)]
        activities.append({
            "no": first_no + i, "id": aid, "flow": flow_id, "name": draw(names),
            "performers": [draw(st.sampled_from(role_ids))],
            "requirements": draw(st.lists(names, max_size=2)),
            "output": draw(names), "note": draw(st.sampled_from(["", "menyesuaikan kesediaan pimpinan"])),
            "time_limit": draw(st.sampled_from(["1 jam", "30 menit", "2 hari", "7,5 jam"])),
            "actions": actions,
        })
    flow = {"id": flow_id, "name": draw(names), "start": ids[0], "ends": [{"id": e, "name": draw(names)} for e in ends]}
    if scheduled:
        flow["schedule"] = "monthly"
    else:
        flow["started_by"] = [role_ids[0]]
    return flow, activities


@st.composite
def definitions(draw) -> dict:
    n_roles = draw(st.integers(1, 6))
    role_ids = [f"r{i}" for i in range(n_roles)]
    flow, acts = _flow(draw, "alur", 1, role_ids, False)
    flows, activities = [flow], acts
    if draw(st.booleans()):
        f2, acts2 = _flow(draw, "rekap", len(acts) + 1, role_ids, True)
        flows.append(f2)
        activities += acts2
    return {
        "id": "acak", "title": draw(names),
        "identity": {"agency": draw(names), "name": draw(names), "number": "1/2026"},
        "roles": [{"id": r, "name": draw(names)} for r in role_ids],
        "flows": flows, "activities": activities,
    }


def load(data: dict):
    """The Sop of generated data; fails the test (with every problem) if it does not validate."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    sop, problems = check_text(text, "generated.yaml")
    assert sop is not None, "\n".join(p.format() for p in problems) + "\n" + text
    return sop
