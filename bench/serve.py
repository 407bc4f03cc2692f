"""`python -m bench.serve TARGET PORT WORKERS`: serve an app factory the way `fengqiao serve`
does (api.server: one SO_REUSEPORT socket per worker), quietly, for the HTTP benchmark."""

from __future__ import annotations

import sys

from api.server import serve

if __name__ == "__main__":
    target, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.exit(
        serve(
            target,
            host="127.0.0.1",
            port=port,
            workers=workers,
            factory=True,
            access_log=False,
            log_level="warning",
        )
    )
