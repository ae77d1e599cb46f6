"""InterCode's rewards, reproduced exactly: :mod:`.sql` (InterCode-SQL) and :mod:`.bash`."""
