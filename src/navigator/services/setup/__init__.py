"""Setting a service up: users, reference data, protocol, wording, letters' templates, configuration files."""
