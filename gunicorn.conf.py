"""Gunicorn settings for the web process (`make run`, docker-compose). Read from the environment."""

import os

bind = os.environ.get("AUROR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker serve the next page while another request waits on the database.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
# Behind a proxy (docker-compose, a load balancer) trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Gunicorn's control socket (one per user by default) is not used; two servers would share it.
control_socket_disable = True
# The access log leaves out the health polls (auror/gunicorn_logging.py).
logger_class = "auror.gunicorn_logging.QuietHealthLogger"
