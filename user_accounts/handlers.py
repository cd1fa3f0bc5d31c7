"""user_accounts reacts to no events: instructors drive it over HTTP. It produces
`simulation.reset` (moving its own epoch in the same transaction), so it has nothing
to wipe: users and settings are set-up, kept across resets."""

from service_runtime.handlers import EventHandlers

handlers = EventHandlers("user_accounts")
