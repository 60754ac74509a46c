"""Nothing is ever linked without a human (issue 4, DESIGN.md rule 3).

1. Every code path that could create a profile member — the model's constructor, a manager's create,
   bulk_create, get_or_create or update_or_create, a related manager's, a raw INSERT or COPY, a model
   looked up by name — is enumerated over the whole code base: the only one is
   matching.services_review._members_create, called only while recording or undoing a human judgement.
2. Whatever the reviewers do, every member row points at a standing judgement by a real, active
   investigator or retailer admin.
3. The engine, run over many look-alike events, links no one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "tests", "migrations", "node_modules", "var", "staticfiles", "test-artifacts", ".git",
             "auror.egg-info", "__pycache__"}
CREATORS = {"create", "bulk_create", "get_or_create", "update_or_create", "aget_or_create", "acreate", "abulk_create",
            "aupdate_or_create"}
RAW = re.compile(r"(insert\s+into|copy)\s+\"?profiles_profilemember", re.I)


def code_files():
    for path in ROOT.rglob("*.py"):
        if not SKIP_DIRS & set(path.relative_to(ROOT).parts):
            yield path


def _chain(node) -> list[str]:
    """Names along an attribute chain: ProfileMember.objects.create → [ProfileMember, objects, create]."""
    out = []
    while isinstance(node, ast.Attribute):
        out.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        out.append(node.id)
    elif isinstance(node, ast.Call):
        out += _chain(node.func)
    return list(reversed(out))


class Finder(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path, self.stack, self.sites = path, [], []

    def visit_FunctionDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def where(self, what: str):
        self.sites.append((self.path, self.stack[-1] if self.stack else "<module>", what))

    def visit_Call(self, node):
        chain = _chain(node.func)
        if chain and chain[-1] == "ProfileMember":
            self.where("ProfileMember(...)")
        elif chain and chain[-1] in CREATORS and ("ProfileMember" in chain or "members" in chain
                                                  or "profile_member" in chain):
            self.where(".".join(chain))
        elif chain and chain[-1] == "get_model" and any(
                isinstance(a, ast.Constant) and str(a.value).lower() in ("profilemember", "profiles.profilemember")
                for a in node.args):
            self.where("get_model(ProfileMember)")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and RAW.search(node.value):
            self.where("raw SQL")


def creation_sites() -> list[tuple[str, str, str]]:
    sites = []
    for path in code_files():
        finder = Finder(str(path.relative_to(ROOT)))
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        sites += finder.sites
    return sites


def callers_of(name: str) -> set[tuple[str, str]]:
    out = set()
    for path in code_files():
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Name) and node.id == name and fn.name != name:
                        out.add((str(path.relative_to(ROOT)), fn.name))
    return out


def test_the_finder_finds_what_it_looks_for(tmp_path):
    """The scan is not vacuous: each way of creating a member is caught."""
    src = '''
def a(): ProfileMember(profile=p, person=x, judgement=j).save()
def b(): ProfileMember.objects.create(profile=p)
def c(): profiles.models.ProfileMember.objects.bulk_create([])
def d(): profile.members.create(person=x)
def e(): person.profile_member.get_or_create()
def f(): cursor.execute("INSERT INTO profiles_profilemember (profile_id) VALUES (1)")
def g(): apps.get_model("profiles", "ProfileMember")
def h(): ProfileMember.objects.filter(profile=p).update(profile=q)
'''
    finder = Finder("x.py")
    finder.visit(ast.parse(src))
    assert [s[1] for s in finder.sites] == ["a", "b", "c", "d", "e", "f", "g"]


def test_only_the_judgement_service_creates_profile_members():
    sites = creation_sites()
    assert {(path, fn) for path, fn, _ in sites} == {("matching/services_review.py", "_members_create")}, sites
    # ...and it is reached only from recording a judgement or undoing one.
    assert callers_of("_members_create") == {("matching/services_review.py", "_accept"),
                                             ("matching/services_review.py", "_undo_split")}
    assert callers_of("_accept") == {("matching/services_review.py", "judgement_record")}
    assert callers_of("_undo_split") == {("matching/services_review.py", "judgement_undo")}


@pytest.mark.django_db
def test_the_member_factory_refuses_anything_but_a_standing_human_judgement(world):
    from django.utils import timezone

    from matching.models import Judgement
    from matching.services_review import _members_create
    from profiles.models import Profile
    from tests.profiles.helpers import JON, record

    person = record(world, persons=[JON]).persons.get()
    profile = Profile.objects.create(organisation=world.acme)
    with pytest.raises(ValueError):
        _members_create(profile=profile, person_ids=[person.pk], judgement=Judgement(organisation=world.acme))
    undone = Judgement.objects.create(organisation=world.acme, person=person, decision="accept", by=world.investigator,
                                      undone_at=timezone.now())
    with pytest.raises(ValueError):
        _members_create(profile=profile, person_ids=[person.pk], judgement=undone)


@pytest.mark.django_db
def test_every_member_row_points_at_a_standing_judgement_by_a_real_reviewer(world):
    from accounts.models import Role
    from matching.models import Suggestion
    from matching.services_review import judgement_record, judgement_undo
    from profiles.models import ProfileMember
    from profiles.services import profile_merge, profile_split
    from tests.profiles.helpers import ANA, ANNA, JOHN, JOHNNY, JON, record, suggestion_between

    a, b = record(world, days_ago=30, persons=[JON]), record(world, days_ago=20, persons=[JOHN])
    c = record(world, days_ago=10, persons=[JOHNNY])
    d, e = record(world, days_ago=15, persons=[ANA]), record(world, days_ago=5, persons=[ANNA])
    judgement_record(actor=world.investigator, suggestion=suggestion_between(b, a), decision="accept")
    extend = judgement_record(actor=world.admin, suggestion=Suggestion.objects.filter(person__event=c).first(),
                              decision="accept")
    judgement_record(actor=world.investigator, suggestion=suggestion_between(e, d), decision="accept")
    jon = ProfileMember.objects.get(person__event=a).profile
    ana = ProfileMember.objects.get(person__event=d).profile
    merge = profile_merge(actor=world.investigator, source=ana, target=jon)
    judgement_undo(actor=world.investigator, judgement=merge)
    profile_split(actor=world.admin, profile=jon, person_ids=[c.persons.get().pk])
    judgement_undo(actor=world.investigator, judgement=extend)

    rows = list(ProfileMember.objects.select_related("judgement__by"))
    assert rows
    for m in rows:
        j = m.judgement
        assert j.undone_at is None and j.decision in ("accept", "start")
        assert j.by.is_active and j.by.organisation_id == world.acme.pk
        assert j.by.role in (Role.INVESTIGATOR, Role.RETAILER_ADMIN)


@pytest.mark.django_db
def test_the_engine_alone_links_no_one(world):
    from django.core.management import call_command

    from matching.models import Suggestion
    from profiles.models import Profile, ProfileMember
    from tests.profiles.helpers import JOHN, JOHNNY, JON, record

    for i in range(12):
        record(world, days_ago=40 - 3 * i, persons=[(JON, JOHN, JOHNNY)[i % 3]],
               vehicles=[{"plate": "KBO812", "person_ref": "p1"}], match=False)
    call_command("rematch", "--org", "acme")
    assert Suggestion.objects.filter(score__gte=0.99).count() >= 10  # plenty of near-certain suggestions...
    assert not ProfileMember.objects.exists() and not Profile.objects.exists()  # ...and no link without a human
