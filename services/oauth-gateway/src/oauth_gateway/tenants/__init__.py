"""Tenants: who connects which QuickBooks company, and the single-use secrets of connecting."""
