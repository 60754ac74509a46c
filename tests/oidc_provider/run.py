"""Launch the test OpenID Connect provider: migrate its SQLite database, create its RS256 key,
clients and users from a JSON file, then serve on 127.0.0.1:PORT until killed.

    python -m tests.oidc_provider.run --port 8123 --config op.json

The config: {"clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
             "users": [{"username", "email", "password"}]}
OP_DB and OP_SITE_URL must be set in the environment (process.py does this).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def setup(config: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType, RSAKey

    call_command("migrate", verbosity=0, interactive=False)
    if not RSAKey.objects.exists():
        call_command("creatersakey", stdout=open(os.devnull, "w"))  # noqa: SIM115
    code = ResponseType.objects.get(value="code")
    for c in config.get("clients", []):
        client, _ = Client.objects.update_or_create(
            client_id=c["client_id"],
            defaults={"name": c["client_id"], "client_secret": c["client_secret"], "client_type": "confidential",
                      "jwt_alg": "RS256", "require_consent": False, "reuse_consent": True},
        )
        client.redirect_uris = c["redirect_uris"]
        client.scope = ["openid", "email", "profile"]
        client.save()
        client.response_types.set([code])
    users = get_user_model()
    for u in config.get("users", []):
        user, _ = users.objects.get_or_create(username=u["username"], defaults={"email": u["email"]})
        user.email = u["email"]
        user.set_password(u["password"])
        user.save()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    with open(args.config, encoding="utf-8") as fh:
        setup(json.load(fh))

    import socketserver

    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
            pass

    class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    httpd = ThreadingServer(("127.0.0.1", args.port), QuietHandler)
    httpd.set_app(get_wsgi_application())
    print(f"test OIDC provider listening on 127.0.0.1:{args.port}", flush=True)
    httpd.serve_forever()

if __name__ == "__main__":
    sys.exit(main())
