"""gunicorn settings shared by the five service APIs.

Threads, not processes: the order front door gathers concurrent requests into
one transaction (group commit), which needs the requests in one process.
"""

import os

bind = os.environ.get("PAPERTRADE_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("PAPERTRADE_API_PROCESSES", "1"))
worker_class = "gthread"
threads = int(os.environ.get("PAPERTRADE_API_THREADS", "32"))
# Longer than the gateway usually leaves a pooled connection idle.
keepalive = 120
graceful_timeout = 10
timeout = 30
accesslog = None
errorlog = "-"
loglevel = "warning"
# gunicorn >= 24 opens a control socket in ~/.gunicorn by default; five APIs
# would race for it and we do not use it.
control_socket_disable = True
