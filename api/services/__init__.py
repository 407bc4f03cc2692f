"""Services shared by the JSON routes, the web pages and the CLI: no logic lives twice."""
