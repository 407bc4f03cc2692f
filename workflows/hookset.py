"""The one HookSet the mediation flows register their guards and actions into."""

from engine.hooks import HookSet
from mediation.vocabulary import DECLARATIONS

HOOKS = HookSet(DECLARATIONS)
