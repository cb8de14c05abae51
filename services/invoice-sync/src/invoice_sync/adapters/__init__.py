"""Adapters of invoice-sync: tables, repositories, QBO use."""
