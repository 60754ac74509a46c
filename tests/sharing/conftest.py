from tests.admin.conftest import as_user  # noqa: F401  (clients signed in as the world personas)
