"""People who log in: users, roles, sessions, API tokens, the login pages."""
