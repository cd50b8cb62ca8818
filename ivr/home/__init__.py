"""The console's home: what needs doing, per role, gathered from every domain (none of them imports it)."""
