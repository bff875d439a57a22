"""The structure check of the workspace; check-structure.py is its command line."""
