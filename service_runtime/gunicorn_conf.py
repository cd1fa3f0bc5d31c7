"""gunicorn settings shared by the five service APIs.

Threads, not processes: the order front door gathers concurrent requests into
one transaction (group commit), which needs the requests in one process.
"""

from service_runtime.config import settings_from_env

_settings = settings_from_env()
bind = _settings.api_bind
workers = _settings.api_processes
worker_class = "gthread"
threads = _settings.api_threads
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
