"""The monthly return: figures from the measure SQL, drift against sent returns, and the export file."""
