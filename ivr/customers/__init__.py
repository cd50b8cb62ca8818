"""Customers: the accounts, their numbers, import from CSV, the sync API, search, the customer page."""
