"""The ground floor: configuration, errors and atomic I/O. Imports nothing else of needradar."""
