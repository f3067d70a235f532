"""Services: one function per action a user takes; each write is one transaction with an audit event.

Services return plain frozen dataclasses (navigator.services.dto), never live ORM objects.
"""
