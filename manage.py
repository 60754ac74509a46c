#!/usr/bin/env python
import os
import sys

# Commands that read the code and the migration history only: they sign and decrypt nothing, so a
# checkout without production secrets (a developer, a CI lint step) can run them as they are.
SECRETLESS_COMMANDS = {"makemigrations"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
    if sys.argv[1:2] and sys.argv[1] in SECRETLESS_COMMANDS:
        os.environ.setdefault("AUROR_DEVELOPMENT", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
