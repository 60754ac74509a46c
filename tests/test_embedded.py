"""The embedded PostgreSQL and Redis (auror/embedded.py), in a data folder of their own.

Several processes share them; one leaving never stops them under another; the last one out stops
them; a process killed without cleaning up does not keep them alive for ever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psycopg
import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from auror.embedded import redis_locations
from tests.processes import ROOT

pytestmark = pytest.mark.timeout(180)

HOLDER = """
import sys
from auror import embedded
print(embedded.database_url())
print(embedded.redis_url(3))
sys.stdout.flush()
sys.stdin.read()  # use them until the test closes our stdin
"""


class User:
    """A process using the embedded servers of `data_dir` until `leave()` or `kill()`."""

    def __init__(self, data_dir):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["AUROR_DATA_DIR"] = str(data_dir)
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.database_url = self.proc.stdout.readline().strip()
        self.redis_url = self.proc.stdout.readline().strip()
        assert self.redis_url, self.proc.stderr.read()

    def leave(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0, self.proc.stderr.read()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def database_up(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def redis_up(url: str) -> bool:
    client = redis.Redis.from_url(redis_locations(url)[1], socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def test_servers_are_shared_and_stop_with_their_last_user(tmp_path):
    first = User(tmp_path)
    second = User(tmp_path)
    assert (second.database_url, second.redis_url) == (first.database_url, first.redis_url)
    assert first.database_url.startswith("postgresql://postgres@")
    assert first.redis_url.startswith("redis+socket://") and first.redis_url.endswith("?virtual_host=3")

    # The Django cache works over the embedded Redis's unix socket.
    cache = RedisCache(redis_locations(first.redis_url)[1], {})
    cache.set("greeting", {"hello": "world"}, 30)
    assert cache.get("greeting") == {"hello": "world"}

    with psycopg.connect(first.database_url) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")

    first.leave()
    assert database_up(second.database_url), "PostgreSQL stopped while another process still used it"
    assert redis_up(second.redis_url), "Redis stopped while another process still used it"
    assert cache.get("greeting") == {"hello": "world"}

    second.leave()
    assert not database_up(first.database_url), "PostgreSQL kept running after its last user left"
    assert not redis_up(first.redis_url), "Redis kept running after its last user left"

    # Started again from the same folder: the data is still there.
    third = User(tmp_path)
    with psycopg.connect(third.database_url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("still here",)]
    third.leave()


def test_a_killed_user_does_not_keep_the_servers_alive(tmp_path):
    crashed = User(tmp_path)
    crashed.kill()  # no atexit: its pid stays in the users file
    assert database_up(crashed.database_url)

    last = User(tmp_path)
    last.leave()
    assert not database_up(crashed.database_url)
    assert not redis_up(crashed.redis_url)
