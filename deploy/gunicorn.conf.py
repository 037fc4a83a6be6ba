"""Gunicorn configuration (docs/operations.md, Deployment).

    gunicorn --config deploy/gunicorn.conf.py mediation.wsgi:application

Every setting can be changed from the environment (the same file the application reads:
deploy/env.example). Log lines are JSON like the application's (mediation/logs.py); the access
line names the path without its query string (a search by ID number or phone would be in it)
and the request id the application answered with.
"""
import ipaddress
import multiprocessing
import os
from urllib.parse import urlsplit

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")


def _database_shares_these_cores() -> bool:
    """Whether the database runs on this machine: SQLite, or PostgreSQL on a local socket or address."""
    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        return True
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # not a URL the application could use either: gunicorn's usual advice
        return False
    if host in {"", "localhost", "localhost."} or host.startswith(("/", "%2f")):  # a socket's directory
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name
        return False


# Processes: one per core and one more when the database shares this machine's cores (its own
# processes need them: measured on two cores with PostgreSQL beside the server, 3 processes answer
# 14-22 % more requests than 5, docs/performance.md "Twelfth pass"); two per core and one more when
# it runs elsewhere (a process then spends much of a request waiting for it). A PDF render keeps its
# process busy on the CPU while it runs; threads (the gthread worker when above 1) help pages that
# wait on the database.
_cores = multiprocessing.cpu_count()
workers = int(os.environ.get("GUNICORN_WORKERS") or 0) or (_cores + 1 if _database_shares_these_cores()
                                                              else _cores * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request running longer than this is killed (exports and bulk issues run as background jobs).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On stop or reload, a worker finishes the requests it has for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are replaced after this many requests plus a random number up to the jitter (so that they
# do not all restart at once): memory that WeasyPrint and Pango keep between documents is given
# back. Measured (docs/performance.md, "Sixteenth pass"), that memory stops growing after a few dozen
# documents and a worker's size is flat over thousands of requests; at 1,000 a fully loaded worker
# was replaced every 45 seconds, and each replacement held up the requests waiting on it.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# The addresses of the reverse proxies whose X-Forwarded-* headers are believed. Django reads the
# scheme from X-Forwarded-Proto only with SECURE_PROXY_SSL_HEADER=1 (docs/security.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Heartbeat files in memory, not on a disk that may stall (Docker's /tmp is an overlay).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
proc_name = "mediation"
# No runtime control socket (gunicornc): the service manager stops and reloads with signals.
control_socket_disable = True

# Logs on standard error, one JSON object a line (LOG_FORMAT=text for plain lines).
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = "-"
errorlog = "-"
# Remote address, method, path without the query string (%(U)s, never %(r)s or %(q)s), protocol,
# status, bytes, milliseconds and the request id the application put on the response.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
_json = os.environ.get("LOG_FORMAT", "json") == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "mediation.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if _json else "text",
                    "stream": "ext://sys.stderr"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
