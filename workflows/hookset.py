"""The one HookSet the mediation flows register their guards and actions into."""

from engine.hooks import HookSet

HOOKS = HookSet()
