"""What supervisors edit: the menu and rules documents, their editors, versions, announcements, change log."""
