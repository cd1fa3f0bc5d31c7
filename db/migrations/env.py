"""Alembic environment shared by the five services' migration histories.

Each service has its own history under db/migrations/<service>/ and its own
alembic_version table in its own database; `db.migrate` points Alembic at one
of them at a time.
"""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url = config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
