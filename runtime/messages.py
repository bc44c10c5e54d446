"""How errors and users' text appear in one-line messages: the first line of an error, a short
quote of a long input. One home, so the CLI, the server, the backends and training say it alike."""


def first_line(error, default=None, limit=200):
    """The first line of an exception's (or a text's) message, at most `limit` characters; when it
    has none, `default`, else the exception's type name."""
    text = str(error).strip()
    if not text:
        return default or (type(error).__name__ if isinstance(error, BaseException) else "failed")
    line = text.splitlines()[0]
    return line if len(line) <= limit else line[:limit] + "..."


def quote(text, limit=40, as_repr=True):
    """A client's text in an error message: at most `limit` characters of it, repr'd."""
    show = repr if as_repr else str
    return show(text) if len(text) <= limit else show(text[:limit]) + f"... ({len(text):,} characters)"
