"""flaskr as the passive DAST scan sees it: its own settings, over a throwaway database with the test data.

Copied into flaskr's ``tests/`` by the adoption trial (``docs/adoption-flaskr.md``) and named there by
``target = "tests.dast_app:app"``: flaskr builds its app in a factory, and its database needs creating.
"""

import atexit
import os
import tempfile
from pathlib import Path

import flaskr.db

_fd, _database = tempfile.mkstemp(suffix=".sqlite")
os.close(_fd)
atexit.register(os.unlink, _database)

app = flaskr.create_app({"DATABASE": _database})
with app.app_context():
    flaskr.db.init_db()
    data = Path(__file__).with_name("data.sql").read_text(encoding="utf8")
    flaskr.db.get_db().executescript(data)
