"""user_accounts reacts to no events yet: it is driven by instructor commands over HTTP.
(It consumes its own `simulation.reset` once resets exist.)"""

from service_runtime.handlers import EventHandlers

handlers = EventHandlers("user_accounts")
