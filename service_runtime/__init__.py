"""The runtime every papertrade service runs on.

One place for what the five services share: configuration (`config`), database
sessions (`db`), the event contracts (`contracts`), the event worker with its outbox
and inbox (`worker`, `outbox`, `inbox`, `relay`), the Flask app factory (`web`), tokens
(`auth`) and money (`money`). A service imports from here and never from
another service.
"""
