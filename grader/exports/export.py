"""``grader export``: a bank → one LMS file plus its loss report, written side by side.

The formats are listed once, here. The file is written to a temporary name beside its target and
renamed when complete, so a refused export (a student copy, a bank text2qti cannot take) leaves
nothing half-written where an instructor would upload it.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..bank import Bank
from ..errors import UserError
from ..kinds import KINDS, Registry
from . import canvas_qti, gift, moodle_xml
from .base import ExportFormat
from .items import bank_info, kind_losses, lms_items
from .report import ExportReport, bank_losses

FORMATS: dict[str, ExportFormat] = {f.name: f for f in (moodle_xml.FORMAT, gift.FORMAT, canvas_qti.FORMAT)}


def output_path(bank: Bank, fmt: ExportFormat, out: str | Path) -> Path:
    """``out`` itself, or ``out/<bank id><suffix>`` when ``out`` is a folder (or ends with a slash)."""
    folder = str(out).endswith(("/", os.sep))  # checked before Path() drops the trailing slash
    out = Path(out)
    if folder or out.is_dir():
        return out / f"{bank.id}{fmt.suffix}"
    return out


def report_path(path: Path) -> Path:
    """Where the loss report of the export at ``path`` goes: ``day48.gift`` → ``day48.gift.losses.md``."""
    return path.with_name(path.name + ".losses.md")


def export_bank(bank: Bank, format_name: str, out: str | Path, *, registry: Registry = KINDS) -> ExportReport:
    """Write ``bank`` in ``format_name`` to ``out`` and its loss report beside it; return the report."""
    fmt = FORMATS.get(format_name)
    if fmt is None:
        raise UserError(f"unknown export format '{format_name}' (formats: {', '.join(FORMATS)})")
    items = lms_items(bank, registry)
    path = output_path(bank, fmt, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        format_losses = fmt.write(items, bank_info(bank), partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    order = {item.id: index for index, item in enumerate(items)}
    per_question = sorted([*kind_losses(items), *format_losses], key=lambda loss: order.get(loss.question or "", -1))
    report = ExportReport(bank.id, fmt, path, len(items), (*bank_losses(bank, fmt.carries), *per_question))
    report_path(path).write_text(report.markdown(), encoding="utf-8")
    return report
