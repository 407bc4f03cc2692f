"""`python -m api.cli …`, as the tests and the server supervisor start it."""

import sys

from api.cli import app

sys.exit(app())
