"""partner-sync's adapters: tables, repositories and its use of QuickBooks."""
