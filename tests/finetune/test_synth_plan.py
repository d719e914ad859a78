"""Which drafts synth attempts, in which order."""

from __future__ import annotations

from memo.finetune import gates
from memo.finetune.synth_plan import plan


def chunk(company_id: str, *facts: str) -> str:
    return f"# {company_id}\n\n" + " ".join(facts)


CHUNKS = [
    (f"tidewell/page{i}.md#0", chunk(f"Page {i}", f"Page {i} says that the team ships a release every week.",
                                    f"Exactly {i * 3} people review each change within 2 days before 5 pm."),
     {"kind": "company"})
    for i in range(12)
] + [
    ("tidewell/heading-only.md#0", "# Only a heading\n\n## And another", {"kind": "company"}),
    ("tidewell/roles/backend.md#0", chunk("Backend", "Backend engineers own the billing service and its alerts.",
                                          "They join the on-call rotation after three months."),
     {"kind": "role", "role": "Backend Engineer"}),
    ("tidewell/roles/designer.md#0", chunk("Designer", "Designers run usability tests with installers monthly."),
     {"kind": "role", "role": "Product Designer"}),
    ("tidewell/roles/astronaut.md#0", chunk("Astronaut", "Astronauts are not a role this company has ever hired."),
     {"kind": "role", "role": "Astronaut"}),
]


ROLES = ["Backend Engineer", "Product Designer"]


def test_plan_covers_every_chunk_once_before_any_twice():
    attempts = plan(CHUNKS, ROLES, per_chunk=2)
    quotable = {cid for cid, _, meta in CHUNKS if cid != "tidewell/heading-only.md#0" and "astronaut" not in cid}
    variants = [a.variant for a in attempts]
    assert variants == sorted(variants)  # all variant 0 first
    first_seconds = variants.index(1)
    assert {a.chunk_id for a in attempts[:first_seconds]} == quotable
    assert {a.chunk_id for a in attempts} == quotable  # no quotable sentence, or a role not asked for: none
    assert len({a.key for a in attempts}) == len(attempts)
    for a in attempts:
        assert a.quote in gates.sentences({c: t for c, t, _ in CHUNKS}[a.chunk_id])


def test_plan_asks_role_chunks_for_their_own_role_and_includes_behavioural_questions():
    attempts = plan(CHUNKS, ROLES, per_chunk=2)
    for a in attempts:
        if a.chunk_id == "tidewell/roles/backend.md#0":
            assert a.role == "Backend Engineer"
        elif a.chunk_id == "tidewell/roles/designer.md#0":
            assert a.role == "Product Designer"
        else:
            assert a.role in ROLES
    behavioural = [a for a in attempts if a.kind == "behavioural"]
    assert {"tidewell/roles/backend.md#0", "tidewell/roles/designer.md#0"} <= {a.chunk_id for a in behavioural}
    assert any(a.chunk_id.startswith("tidewell/page") for a in behavioural)
    assert all(a.variant == 0 for a in behavioural)
    # the most informative sentence (it has a number twice over) is variant 0
    page = [a for a in attempts if a.chunk_id == "tidewell/page5.md#0" and a.kind == "company"]
    assert [a.variant for a in page] == [0, 1] and "15 people" in page[0].quote
    # the same input gives the same plan (resume keys depend on it)
    assert plan(list(reversed(CHUNKS)), ROLES, per_chunk=2) == attempts
    # without roles, nobody is asked for one; role chunks still appear
    no_roles = plan(CHUNKS, [None], per_chunk=1)
    assert {a.role for a in no_roles if "roles/" not in a.chunk_id} == {None}
    assert "tidewell/roles/astronaut.md#0" in {a.chunk_id for a in no_roles}
