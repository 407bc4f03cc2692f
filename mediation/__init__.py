"""The mediation domain core: its vocabularies, intake and case-opening rules, domain
tables and their queries, statistics and party search. It builds on engine/ (which knows
only workflows) and is built on by workflows/ (the flows' hooks) and api/ (the host)."""
