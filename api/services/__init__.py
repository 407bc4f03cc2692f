"""Services called alike by routes, pages and the CLI (documents, rulings, case file, keys)."""
