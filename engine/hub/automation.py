"""Which apps have automated sync turned off by a rollback, as Argo CD does.

A rollback turns it off for the app (all its targets); a change of the Application's
definition turns it back on. The switch is kept in the store, so it survives a restart:
``restore`` reads it when a target is tracked. Reconciles read it from memory.
"""

from __future__ import annotations

from engine.model.status import AUTOMATED_SYNC_DISABLED
from engine.store import Store


class Automation:
    """The apps whose automated sync a rollback turned off."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._off: set[str] = set()

    def is_off(self, app: str) -> bool:
        """Whether a rollback turned ``app``'s automated sync off."""
        return app in self._off

    async def turn_off(self, app: str) -> None:
        """A rollback of ``app``: automated sync stays off until its definition changes."""
        await self._store.set_app_setting(app, AUTOMATED_SYNC_DISABLED, True)
        self._off.add(app)

    async def turn_on(self, app: str) -> None:
        """``app``'s definition changed: automated sync is on again (if it declares it)."""
        await self._store.set_app_setting(app, AUTOMATED_SYNC_DISABLED, None)
        self._off.discard(app)

    async def restore(self, app: str) -> None:
        """Read ``app``'s switch from the store (a target of it is tracked)."""
        if await self._store.get_app_setting(app, AUTOMATED_SYNC_DISABLED):
            self._off.add(app)
