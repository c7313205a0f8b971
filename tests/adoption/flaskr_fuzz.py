"""Fuzzing flaskr with pytest-stillme's ``fuzz`` fixture: every route, as a visitor and as an author.

Copied into flaskr as ``tests/test_fuzz.py`` by the adoption trial (``docs/adoption-flaskr.md``); it
uses flaskr's own fixtures (``app``, ``client``, ``auth`` from its ``tests/conftest.py``).
"""


def test_fuzz_as_visitor(app, fuzz):
    """Every route flaskr has, as someone who is not logged in."""
    fuzz(app)


def test_fuzz_as_author(app, client, auth, fuzz):
    """Logged in as the author of post 1, so create, update and delete do their work."""
    auth.login()
    session = client.get_cookie("session")
    assert session is not None
    # register and login read no session: the visitor's test fuzzes them
    fuzz(app, cookies={"session": session.value}, exclude=["/auth/*"])
