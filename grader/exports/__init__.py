"""Exports of a bank to LMS formats (Moodle XML, GIFT, Canvas QTI), each with a loss report.

``grader.exports.export.export_bank`` is the entry point (``grader export`` on the command line);
``base`` says what a format is, ``items`` maps questions through their kinds, ``report`` writes what
was lost. One module per format.
"""
