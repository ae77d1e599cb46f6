"""An environment built on first use, so that a module defining a graph imports without it.

``langgraph dev`` imports every graph module at start-up; a shell agent whose sandbox
(bubblewrap) is missing must not stop the server, but fail its own first run with the reason.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any


class LazyEnvironment:
    """Delegates to ``factory()``, called once, when an attribute of the environment is first
    needed.

    Args:
        factory: builds the environment (it may raise, e.g. when bubblewrap is missing; the error
            reaches the run that first needs the environment, every time until it succeeds).
        kind: the environment's class. Attribute probes answer from it without building:
            a name the class lacks raises ``AttributeError``, a plain class attribute (such as
            ``action_syntax``) and a classmethod (such as ``default_settings``) are returned as they
            are, and a method is returned as a function that builds the environment when it is
            called.
    """

    def __init__(self, factory: Callable[[], Any], kind: type) -> None:
        self._factory = factory
        self._kind = kind
        self._env: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether the environment exists yet."""
        return self._env is not None

    def environment(self) -> Any:
        """The environment, built now if it is not yet."""
        with self._lock:
            if self._env is None:
                self._env = self._factory()
            return self._env

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._env is not None:
            return getattr(self._env, name)
        try:
            static = getattr(self._kind, name)
        except AttributeError:
            raise AttributeError(f"{self._kind.__name__} has no attribute {name!r}") from None
        if isinstance(inspect.getattr_static(self._kind, name), classmethod):
            return static
        if callable(static):

            def call(*args: Any, **kwargs: Any) -> Any:
                return getattr(self.environment(), name)(*args, **kwargs)

            call.__name__ = name
            return call
        if isinstance(static, property):
            return getattr(self.environment(), name)
        return static

    def __repr__(self) -> str:
        state = "built" if self.built else "not built yet"
        return f"LazyEnvironment({self._kind.__name__}, {state})"
