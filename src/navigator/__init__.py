"""navigator: keyboard-first casework for community mental-health navigators."""

__version__ = "0.1.0"
