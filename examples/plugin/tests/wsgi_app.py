"""The WSGI application the unit tests' settings name; the unit tests never serve it."""


def application(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello"]
