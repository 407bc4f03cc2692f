"""Services the API routes, the pages and the CLI share: each reads or changes the database in
one place, so no rule exists twice."""
