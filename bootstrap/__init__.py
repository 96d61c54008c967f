"""The account foundation (a Pulumi project of its own, `maratron-bootstrap`): see bootstrap/__main__.py."""
