"""The user's history: SQLite store, migrations, statistics, scheduling, export."""
