"""The one access policy: what may each user do to which objects.

Every HTML view, API endpoint, search, export, notification and suggestion asks this module, through
`Model.objects.visible_to(user, action)` (auror.querysets.TenantQuerySet) and the base classes in
auror.views and auror.api. Rules answer a `Q` so the database does the filtering. An object the
user may not see is simply absent from their queryset: the caller answers 404, the same as for an
id that does not exist.

Actions: "view", "change", "delete", "manage" (administrative actions such as user management).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import Combinable

from accounts.models import OrgKind, PoliceSharing, Role

VIEW, CHANGE, DELETE, MANAGE = "view", "change", "delete", "manage"
ACTIONS = (VIEW, CHANGE, DELETE, MANAGE)

NOTHING = Q(pk__in=[])
EVERYTHING = Q()

RETAILER_ROLES = {Role.STORE_STAFF, Role.INVESTIGATOR, Role.RETAILER_ADMIN}
POLICE_ROLES = {Role.POLICE_OFFICER, Role.POLICE_ADMIN}
ADMIN_ROLES = {Role.RETAILER_ADMIN, Role.POLICE_ADMIN}

Rule = Callable[[object, str], Q]
_RULES: dict[str, Rule] = {}


def rule(label: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES[label] = fn
        return fn

    return register


def _active(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.organisation_id
        and user.organisation.is_active
    )


def q_for(model: type[Model], user, action: str = VIEW) -> Q:
    """The filter for `model` rows that `user` may `action`. Unknown models see nothing."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not _active(user):
        return NOTHING
    fn = _RULES.get(model._meta.label)
    if fn is None:
        raise LookupError(f"{model._meta.label} has no access rule in auror.access")
    return fn(user, action)


def can(user, action: str, obj: Model) -> bool:
    """Whether `user` may `action` this one object (one indexed query)."""
    return type(obj)._default_manager.filter(pk=obj.pk).filter(q_for(type(obj), user, action)).exists()


def visible(model: type[Model], user, action: str = VIEW) -> QuerySet:
    """The rows of `model` that `user` may `action`: `Model.objects.visible_to(user, action)` for a model
    whose rows belong to a parent row and whose manager is a plain one (an event's people, products and
    vehicles; a profile's members). Their rules follow the parent's (`_follows` below). A model without
    a rule raises, as in `q_for`."""
    manager = model._default_manager
    if hasattr(manager, "visible_to"):
        return manager.visible_to(user, action)
    return manager.filter(q_for(model, user, action))


def _prefixed(q: Q, prefix: str) -> Q:
    """`q` with every lookup read through the relation `prefix` ("event__"): the same condition, asked
    of a related row. Refuses a condition that compares with another column (an F() or an expression):
    that column would have to be moved through the relation too."""
    children = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_prefixed(child, prefix))
        elif isinstance(child, tuple) and len(child) == 2 and not isinstance(child[1], Combinable):
            children.append((prefix + child[0], child[1]))
        else:
            raise TypeError(f"cannot read {child!r} through {prefix!r}")
    return Q.create(children, connector=q.connector, negated=q.negated)


def _follows(parent: str, via: str) -> Rule:
    """A rule for rows that belong to one `parent` row through the foreign key `via`: the user may
    `action` such a row exactly when they may `action` its parent (the parent's own rule, read through
    `via`), so the part is never more visible than the whole, nor less."""

    def follow(user, action: str) -> Q:
        return _prefixed(_RULES[parent](user, action), f"{via}__")

    follow.__doc__ = f"Exactly the rule of {parent}, for the same action, through `{via}`."
    return follow


# --- Organisations, stores, users --------------------------------------------------------------


@rule("accounts.Organisation")
def organisation_rule(user, action: str) -> Q:
    if user.role == Role.PLATFORM_OPERATOR:
        return EVERYTHING  # provisioning tenants: their settings, never their content
    if action == VIEW:
        return Q(pk=user.organisation_id)
    if action in (CHANGE, MANAGE) and user.role in ADMIN_ROLES:
        return Q(pk=user.organisation_id)
    return NOTHING


@rule("accounts.Store")
def store_rule(user, action: str) -> Q:
    if user.role == Role.PLATFORM_OPERATOR:
        return EVERYTHING if action in (VIEW, CHANGE, MANAGE) else NOTHING
    if user.role not in RETAILER_ROLES:
        return NOTHING
    own = Q(organisation_id=user.organisation_id)
    if action == VIEW:
        if user.role == Role.STORE_STAFF:
            return own & Q(pk__in=user.stores.values("pk"))
        return own
    if user.role == Role.RETAILER_ADMIN:
        return own
    return NOTHING


@rule("accounts.User")
def user_rule(user, action: str) -> Q:
    if user.role == Role.PLATFORM_OPERATOR:
        return EVERYTHING
    if user.role in ADMIN_ROLES:
        return Q(organisation_id=user.organisation_id)
    return Q(pk=user.pk) if action == VIEW else NOTHING


@rule("accounts.OIDCProvider")
def oidc_rule(user, action: str) -> Q:
    if user.role == Role.PLATFORM_OPERATOR:
        return EVERYTHING
    if user.role in ADMIN_ROLES:
        return Q(organisation_id=user.organisation_id)
    return NOTHING


@rule("accounts.ApiToken")
def token_rule(user, action: str) -> Q:
    mine = Q(user_id=user.pk)
    if user.role in ADMIN_ROLES:
        return mine | Q(organisation_id=user.organisation_id)
    if user.role == Role.PLATFORM_OPERATOR:
        return EVERYTHING if action in (VIEW, CHANGE, DELETE) else mine
    return mine


# --- Audit ---------------------------------------------------------------------------------------


@rule("audit.AuditEntry")
def audit_rule(user, action: str) -> Q:
    if action != VIEW:
        return NOTHING  # append-only
    if user.role in ADMIN_ROLES or user.role == Role.PLATFORM_OPERATOR:
        return Q(organisation_id=user.organisation_id)
    # Anyone may read back their own searches (what they looked for, and the purpose they gave):
    # an officer's home page lists them.
    return Q(actor_id=user.pk, action="event.search")


# --- Events --------------------------------------------------------------------------------------


def _sensitivity(user, prefix: str = "") -> Q:
    return EVERYTHING if user.sensitive_access else Q(**{f"{prefix}sensitive": False})


def police_sharing_q(agency, prefix: str = "") -> Q:
    """Events that `agency` may see: shared with all agencies, or with agencies whose jurisdiction
    covers the store, per the event's own choice or (when it has none) its retailer's default;
    never internal-only ones, never those of a retailer that excluded the agency."""
    p = prefix
    effective_all = Q(**{f"{p}police_sharing": PoliceSharing.ALL}) | Q(
        **{f"{p}police_sharing": "", f"{p}organisation__police_sharing_default": PoliceSharing.ALL}
    )
    effective_jurisdiction = Q(**{f"{p}police_sharing": PoliceSharing.JURISDICTION}) | Q(
        **{f"{p}police_sharing": "", f"{p}organisation__police_sharing_default": PoliceSharing.JURISDICTION}
    )
    covered = Q(**{f"{p}store__region__in": list(agency.jurisdictions or [])})
    excluded = Q(**{f"{p}organisation__police_excluded_agencies": agency.pk})
    return (effective_all | (effective_jurisdiction & covered)) & ~excluded


def partner_q(user, prefix: str = "") -> Q:
    """Events of other retailers that an active agreement lets this retailer see."""
    from sharing.models import Agreement

    scopes = Agreement.objects.active_between_for(user.organisation_id)
    q = NOTHING
    for partner_id, regions in scopes:
        part = Q(**{f"{prefix}organisation_id": partner_id, f"{prefix}sensitive": False})
        if regions:
            part &= Q(**{f"{prefix}store__region__in": regions})
        q |= part
    return q


def disclosed_q(user, prefix: str = "") -> Q:
    """Single events of other retailers disclosed to this retailer: an approved, unexpired disclosure
    request of Connect the Dots (sharing.DisclosureRequest). Sensitive ones still need the grant."""
    return Q(**{f"{prefix}id__in": _disclosed_event_ids(user.organisation_id)}) & _sensitivity(user, prefix)


def _disclosed_event_ids(organisation_id: int):
    from sharing.models import DisclosureRequest

    return DisclosureRequest.objects.granted_to(organisation_id).values("event_id")


def event_q(user, action: str, prefix: str = "") -> Q:
    p = prefix
    own = Q(**{f"{p}organisation_id": user.organisation_id}) & _sensitivity(user, p)
    role = user.role
    if role == Role.STORE_STAFF:
        in_stores = Q(**{f"{p}store_id__in": user.stores.values("pk")})
        if action == VIEW:
            return own & in_stores
        if action == CHANGE:
            return own & in_stores & Q(**{f"{p}created_by_id": user.pk})
        return NOTHING
    if role == Role.INVESTIGATOR:
        if action == VIEW:
            return own | partner_q(user, p) | disclosed_q(user, p)
        return own if action == CHANGE else NOTHING
    if role == Role.RETAILER_ADMIN:
        if action == VIEW:
            return own | partner_q(user, p) | disclosed_q(user, p)
        return own if action in (CHANGE, DELETE) else NOTHING
    if role == Role.POLICE_OFFICER and action == VIEW:
        return police_sharing_q(user.organisation, p) & _sensitivity(user, p)
    return NOTHING


@rule("events.Event")
def event_rule(user, action: str) -> Q:
    return event_q(user, action)


def can_record_event_at(user, store) -> bool:
    """Creating is a store-scoped right: staff at their stores, investigators and admins anywhere
    in their own retailer."""
    if (not _active(user) or user.role not in RETAILER_ROLES or store.organisation_id != user.organisation_id
            or not store.is_active):
        return False
    if user.role == Role.STORE_STAFF:
        return user.stores.filter(pk=store.pk).exists()
    return True


EVENT_HISTORY_ACTIONS = ("event.create", "event.update")


def event_history_entries(user, event) -> QuerySet:
    """The audit rows that make up `event`'s change history (who recorded it, who changed what, before
    and after), for the people who look after the retailer's events: investigators and retailer admins
    who may change this event. Empty for anyone else (store staff, even for an event they may still
    correct; police; partners; another tenant).

    The audit log's own rule (audit_rule) is admins only, and stays so for the log as a whole. An
    event's history is part of the event, so this one read follows the event's CHANGE right instead;
    the right is checked here, with the read, so the two cannot be separated. It reads only this
    event's create and update rows of its own organisation's chain."""
    from audit.models import AuditEntry

    if not _active(user) or user.role not in INVESTIGATING_ROLES or not can(user, CHANGE, event):
        return AuditEntry.objects.none()
    return AuditEntry.objects.unscoped().filter(
        organisation_id=event.organisation_id, object_type="events.event", object_id=str(event.pk),
        action__in=EVENT_HISTORY_ACTIONS)


# --- Sharing -------------------------------------------------------------------------------------


@rule("sharing.Agreement")
def agreement_rule(user, action: str) -> Q:
    if user.role not in (Role.RETAILER_ADMIN, Role.INVESTIGATOR):
        return NOTHING
    mine = Q(retailer_id=user.organisation_id) | Q(partner_id=user.organisation_id)
    if action == VIEW:
        return mine
    return mine if user.role == Role.RETAILER_ADMIN else NOTHING


@rule("sharing.DisclosureRequest")
def disclosure_request_rule(user, action: str) -> Q:
    """Investigators and admins of either side see a request; the holding side decides it."""
    if user.role not in (Role.RETAILER_ADMIN, Role.INVESTIGATOR):
        return NOTHING
    if action == VIEW:
        return Q(requesting_organisation_id=user.organisation_id) | Q(holding_organisation_id=user.organisation_id)
    return Q(holding_organisation_id=user.organisation_id) if action == CHANGE else NOTHING


# --- "Who can see this event?" -------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    who: str
    why: str


def explain_event_audience(event) -> list[Audience]:
    """Who can see this event, computed by evaluating the same rules as event_q against it."""
    from accounts.models import Organisation
    from events.models import Event

    org = event.organisation
    one = Event.objects.filter(pk=event.pk)
    out: list[Audience] = []
    sens = "members with sensitive access" if event.sensitive else "everyone"
    out.append(Audience(f"{org.name}: store staff of {event.store.code}", f"{sens} scoped to that store"))
    out.append(Audience(f"{org.name}: investigators and admins", sens))
    for agency in Organisation.objects.filter(kind=OrgKind.LAW_ENFORCEMENT, is_active=True):
        if one.filter(police_sharing_q(agency)).exists():
            why = "shared with all agencies" if event.effective_police_sharing == PoliceSharing.ALL else (
                f"its jurisdiction ({', '.join(agency.jurisdictions)}) covers region {event.store.region}"
            )
            if event.sensitive:
                why += "; officers with sensitive access only"
            out.append(Audience(f"{agency.name}: police officers", why))
    from sharing.models import Agreement

    if not event.sensitive:
        for partner_id, regions in Agreement.objects.active_between_for(org.pk):
            if not regions or event.store.region in regions:
                partner = Organisation.objects.get(pk=partner_id)
                out.append(Audience(f"{partner.name}: investigators and admins", "a sharing agreement covers it"))
    from django.db.models import Max

    from sharing.models import DisclosureRequest

    grants = (DisclosureRequest.objects.filter(event_id=event.pk, status=DisclosureRequest.Status.APPROVED)
              .values_list("requesting_organisation_id").annotate(until=Max("expires_at")))
    for org_id, until in grants:
        if one.filter(id__in=_disclosed_event_ids(org_id)).exists():
            why = f"this one event, disclosed on request until {until:%d %b %Y}"
            if event.sensitive:
                why += "; members with sensitive access only"
            name = Organisation.objects.filter(pk=org_id).values_list("name", flat=True).first()
            out.append(Audience(f"{name}: investigators and admins", why))
    return out


# --- Event parts, catalogue and drafts -----------------------------------------------------------


@rule("events.Product")
def product_rule(user, action: str) -> Q:
    if user.role not in RETAILER_ROLES:
        return NOTHING
    own = Q(organisation_id=user.organisation_id)
    if action == VIEW:
        return own
    return own if user.role == Role.RETAILER_ADMIN else NOTHING


# An event's people, products and vehicles are parts of the event: whoever may view (change, delete)
# the event may view (change, delete) them, and no one else.
for _label in ("events.EventPerson", "events.EventProduct", "events.EventVehicle"):
    rule(_label)(_follows("events.Event", "event"))


@rule("events.EventDraft")
def draft_rule(user, action: str) -> Q:
    return Q(user_id=user.pk, organisation_id=user.organisation_id) if user.role in RETAILER_ROLES else NOTHING


# --- Profiles and matching -------------------------------------------------------------------------

INVESTIGATING_ROLES = {Role.INVESTIGATOR, Role.RETAILER_ADMIN}


def _investigators_own(user, action: str) -> Q:
    if user.role not in INVESTIGATING_ROLES:
        return NOTHING
    return Q(organisation_id=user.organisation_id)


for _label in ("profiles.Profile", "profiles.Vehicle", "profiles.OffenderGroup", "matching.Judgement"):
    rule(_label)(_investigators_own)

# A profile's members (which event person is in it, by which judgement) are part of the profile.
rule("profiles.ProfileMember")(_follows("profiles.Profile", "profile"))


@rule("matching.Suggestion")
def suggestion_rule(user, action: str) -> Q:
    """The retailer's own suggestions; an undecided cross-retailer one only while both retailers are
    still opted in to Connect the Dots (opting out hides them at once, opting in again shows them)."""
    own = _investigators_own(user, action)
    if own == NOTHING:
        return NOTHING
    open_cross = Q(other_organisation__isnull=False, status__in=["pending", "unsure"])
    both_in = Q(organisation__ctd_opt_in=True, other_organisation__ctd_opt_in=True, other_organisation__is_active=True)
    return own & (~open_cross | both_in)


@rule("matching.MatchSettings")
def match_settings_rule(user, action: str) -> Q:
    if user.role == Role.RETAILER_ADMIN:
        return Q(organisation_id=user.organisation_id)
    if user.role == Role.INVESTIGATOR and action == VIEW:
        return Q(organisation_id=user.organisation_id)
    return NOTHING


# --- Bulk imports --------------------------------------------------------------------------------


@rule("events.ImportJob")
def import_job_rule(user, action: str) -> Q:
    """Imports are run by investigators and retailer admins; admins see every import of their
    retailer, investigators their own."""
    own = Q(organisation_id=user.organisation_id)
    if user.role == Role.RETAILER_ADMIN:
        return own
    if user.role == Role.INVESTIGATOR:
        return own & Q(user_id=user.pk)
    return NOTHING


@rule("events.DescriptorSynonym")
def descriptor_synonym_rule(user, action: str) -> Q:
    """A retailer's own descriptor synonyms: investigators and admins read them (they import, and the
    report refers to them); admins add and remove them. Store staff record through the form's
    selects and have no use for them."""
    own = Q(organisation_id=user.organisation_id)
    if user.role == Role.RETAILER_ADMIN:
        return own
    if user.role == Role.INVESTIGATOR and action == VIEW:
        return own
    return NOTHING


# --- Evidence --------------------------------------------------------------------------------------


@rule("evidence.EvidenceItem")
def evidence_rule(user, action: str) -> Q:
    """Visible exactly when its event is; adding evidence needs change rights on the event (checked on
    the event by evidence.services); changing or deleting an item is for retailer admins."""
    if action == VIEW:
        return event_q(user, VIEW, prefix="event__")
    if action in (CHANGE, DELETE) and user.role == Role.RETAILER_ADMIN:
        return event_q(user, DELETE, prefix="event__")
    return NOTHING


@rule("evidence.CustodyEntry")
def custody_rule(user, action: str) -> Q:
    return event_q(user, VIEW, prefix="item__event__") if action == VIEW else NOTHING  # append-only


@rule("evidence.WitnessStatement")
def statement_rule(user, action: str) -> Q:
    return event_q(user, VIEW, prefix="item__event__") if action == VIEW else NOTHING


@rule("evidence.DataKey")
def data_key_rule(user, action: str) -> Q:
    return NOTHING  # key material is for evidence.crypto alone


# --- Guardrails lexicon ----------------------------------------------------------------------------


@rule("guardrails.LexiconEntry")
def lexicon_entry_rule(user, action: str) -> Q:
    """Everyone may read the platform lexicon and their own organisation's additions; a retailer admin
    manages their organisation's entries. Platform entries change only through the shipped file."""
    own = Q(organisation_id=user.organisation_id)
    if action == VIEW:
        return Q(organisation__isnull=True) | own
    if user.role == Role.RETAILER_ADMIN:
        return own
    return NOTHING
