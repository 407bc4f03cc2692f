"""The composition root: settings, wiring, HTTP app, scheduler and the `fengqiao` CLI."""
