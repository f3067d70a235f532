"""Casework: the desk's actions on a journey, the reads behind the screens, team leads' views, letters, and the bulk writer."""
