"""A reader for Canvas QTI packages, independent of the writer (stdlib only), for the export tests.

No maintained QTI 1.2 reader is on PyPI (``qti2txt`` is not published there), so this reads the
package the way Canvas's importer does: ``imsmanifest.xml`` names the ``imsqti_xmlv1p2`` resource;
each ``<item>`` carries Canvas's ``question_type`` and ``points_possible`` in its item metadata, its
text in ``presentation/material/mattext`` (HTML), its options as ``response_label``s, and its key in
``resprocessing``: the ``respcondition`` that sets ``SCORE`` to 100, by ``varequal`` (choice ids, short
answers, an exact number) or ``vargte``/``varlte`` (a numeric range). Structure the importer needs
and cannot find raises ``QtiFormatError``.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
META = "{http://canvas.instructure.com/xsd/cccv1p0}"
CANVAS_TYPES = {"multiple_choice_question", "multiple_answers_question", "numerical_question",
                "short_answer_question", "essay_question", "text_only_question", "true_false_question"}


class QtiFormatError(ValueError):
    pass


@dataclass
class QtiItem:
    title: str
    question_type: str
    points: float
    text_html: str
    choices: dict[str, str] = field(default_factory=dict)
    """response_label ident → its HTML, in order."""
    correct: set[str] = field(default_factory=set)
    """Choice idents (or accepted short answers) that score 100."""
    numeric_range: tuple[float, float] | None = None
    numeric_exact: float | None = None
    general_feedback_html: str | None = None
    choice_feedback_html: dict[str, str] = field(default_factory=dict)


@dataclass
class QtiQuiz:
    title: str
    description_html: str | None
    shuffle_answers: bool
    points_possible: float
    items: list[QtiItem]


def _need(node: ET.Element | None, what: str) -> ET.Element:
    if node is None:
        raise QtiFormatError(f"missing {what}")
    return node


def _metadata(item: ET.Element) -> dict[str, str]:
    fields = item.findall(f"{QTI}itemmetadata/{QTI}qtimetadata/{QTI}qtimetadatafield")
    return {_need(f.find(f"{QTI}fieldlabel"), "fieldlabel").text or "": f.findtext(f"{QTI}fieldentry") or "" for f in fields}


def _html(material_parent: ET.Element) -> str:
    mattext = _need(material_parent.find(f"{QTI}material/{QTI}mattext"), "material/mattext")
    if mattext.get("texttype") != "text/html":
        raise QtiFormatError(f"mattext texttype {mattext.get('texttype')!r}, expected text/html")
    return mattext.text or ""


def _read_item(item: ET.Element) -> QtiItem:
    meta = _metadata(item)
    qtype = meta.get("question_type", "")
    if qtype not in CANVAS_TYPES:
        raise QtiFormatError(f"item {item.get('title')!r}: question_type {qtype!r} is not one Canvas imports")
    presentation = _need(item.find(f"{QTI}presentation"), "presentation")
    read = QtiItem(item.get("title") or "", qtype, float(meta.get("points_possible", "nan")), _html(presentation))
    for label in presentation.iter(f"{QTI}response_label"):
        if label.find(f"{QTI}material") is not None:
            read.choices[label.get("ident") or ""] = _html(label)
    feedback = {fb.get("ident"): _html(_need(fb.find(f"{QTI}flow_mat"), "flow_mat")) for fb in item.findall(f"{QTI}itemfeedback")}
    read.general_feedback_html = feedback.get("general_fb")
    read.choice_feedback_html = {ident: feedback[f"{ident}_fb"] for ident in read.choices if f"{ident}_fb" in feedback}
    for condition in item.iter(f"{QTI}respcondition"):
        setvar = condition.find(f"{QTI}setvar")
        if setvar is None or setvar.get("varname") != "SCORE" or float(setvar.text or 0) <= 0:
            continue
        var = _need(condition.find(f"{QTI}conditionvar"), "conditionvar")
        if qtype == "numerical_question":
            exact = var.find(f".//{QTI}varequal")
            read.numeric_exact = float(exact.text) if exact is not None else None
            low, high = var.find(f".//{QTI}vargte"), var.find(f".//{QTI}varlte")
            read.numeric_range = (float(_need(low, "vargte").text), float(_need(high, "varlte").text))
        elif qtype == "multiple_answers_question":
            # all-or-nothing condition: <and> of varequal (ticked) and <not><varequal> (left blank)
            ticked = [v for v in var.iter(f"{QTI}varequal")]
            negated = {v.text for n in var.iter(f"{QTI}not") for v in n.iter(f"{QTI}varequal")}
            read.correct |= {v.text or "" for v in ticked if v.text not in negated}
        else:
            read.correct |= {v.text or "" for v in var.iter(f"{QTI}varequal")}
    return read


def read_package(path: str | Path) -> QtiQuiz:
    with zipfile.ZipFile(path) as package:
        manifest = ET.fromstring(package.read("imsmanifest.xml"))
        resources = manifest.findall(f"{CP}resources/{CP}resource")
        qti = [r for r in resources if r.get("type") == "imsqti_xmlv1p2"]
        if len(qti) != 1:
            raise QtiFormatError(f"expected one imsqti_xmlv1p2 resource, found {len(qti)}")
        href = _need(qti[0].find(f"{CP}file"), "resource file").get("href") or ""
        assessment_xml = ET.fromstring(package.read(href))
        meta_href = next((r.get("href") for r in resources if (r.get("href") or "").endswith("assessment_meta.xml")), None)
        meta = ET.fromstring(package.read(meta_href)) if meta_href else None
    assessment = _need(assessment_xml.find(f"{QTI}assessment"), "assessment")
    items = [_read_item(item) for item in assessment.iter(f"{QTI}item")]
    description = meta.findtext(f"{META}description") if meta is not None else None
    return QtiQuiz(title=assessment.get("title") or "", description_html=description or None,
                   shuffle_answers=meta is not None and meta.findtext(f"{META}shuffle_answers") == "true",
                   points_possible=float(meta.findtext(f"{META}points_possible") or "nan") if meta is not None else float("nan"),
                   items=items)
