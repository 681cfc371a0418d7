"""Independent readers of the LMS export formats, for the export tests (never used by the writers)."""
