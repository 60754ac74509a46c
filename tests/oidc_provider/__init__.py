"""A real OpenID Connect provider for the SSO tests: a tiny separate Django project built on
django-oidc-provider, run as its own process on 127.0.0.1 (see process.py). Not imported by Auror."""
