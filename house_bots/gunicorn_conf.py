"""gunicorn settings of the house bots process: the shared ones, but always one
worker process, because the bot loop runs in it and must run exactly once."""

from service_runtime.gunicorn_conf import *  # noqa: F403

workers = 1
threads = 8
# Loading a scenario waits for the reset to reach every service.
timeout = 120
