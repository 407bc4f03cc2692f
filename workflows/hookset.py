"""The one HookSet the mediation flows register their guards and actions into; it declares
mediation's vocabularies and the keys its specs add to the engine's (mediation/spec.py)."""

from engine.hooks import HookSet
from mediation.spec import MEDIATION_SPEC
from mediation.vocabulary import DECLARATIONS

HOOKS = HookSet(DECLARATIONS, extension=MEDIATION_SPEC)
