"""House bots: market makers, noise, momentum and value traders that trade through
the public API as bot users, and scenarios that set a class up in one action."""
