from . import hooks, loops  # noqa: F401
