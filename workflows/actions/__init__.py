"""Actions of the mediation flows, one module per step family: they change the case through
the context, inside the fire's transaction. Their input was checked against the transition's
declared fields before any guard ran; they read typed values (`ctx.value`), never the raw
payload. Timer-expiry actions (run by the tick with the timer's own data) notify through the
outbox. Importing this package registers them all on workflows.hookset.HOOKS.
"""

from workflows.actions import agreement, closing, confirmation, followup, intake, sessions

__all__ = ["agreement", "closing", "confirmation", "followup", "intake", "sessions"]
