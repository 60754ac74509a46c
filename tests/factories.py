"""Factories for tests (factory_boy)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import Organisation, OrgKind, Role, Store, User
from events.models import Event, EventType

PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    kind = OrgKind.RETAILER


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"S-{n:03d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    region = "AKL"
    timezone = "Pacific/Auckland"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.LazyAttribute(lambda u: u.email)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.INVESTIGATOR

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        if create and extracted:
            self.stores.set(extracted)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    store = factory.SubFactory(StoreFactory)
    organisation = factory.LazyAttribute(lambda e: e.store.organisation)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    type = EventType.THEFT
