"""Write the PDF and Word test files in this folder (their text is written for citebot's tests
and is MIT-licensed like the project). Needs reportlab and python-docx:

    pip install reportlab python-docx && python tests/data/formats/make_formats.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

HANDBOOK = [
    ("1 Opening hours", [
        "The harbour office opens at 07:30 and closes at 19:00 from April to October.",
        "In winter it closes at 16:00 and stays shut on Sundays.",
    ]),
    ("2 Mooring fees", [
        "Visiting boats pay 14 euros per night for a berth up to 10 metres.",
        "Longer boats pay 2 euros for each extra metre.",
        "Fees are paid at the harbour office or by card at the fuel dock.",
    ]),
    ("3 Emergency procedures", [
        "In an emergency, call the harbour master on VHF channel 12.",
        "If a boat is taking on water, the crew sounds three long blasts",
        "and the pump trailer is brought to the nearest pontoon.",
    ]),
]


def handbook_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle("Harbour Operations Handbook")
    pdf.setAuthor("Harbour Board")
    for n, (heading, lines) in enumerate(HANDBOOK):
        key = f"section{n}"
        pdf.bookmarkPage(key)
        pdf.addOutlineEntry(heading, key, level=0)
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 760, heading)
        pdf.setFont("Helvetica", 11)
        for k, line in enumerate(lines):
            pdf.drawString(72, 730 - 16 * k, line)
        pdf.drawString(290, 40, str(n + 1))
        pdf.showPage()
    pdf.save()


def meeting_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Website team meeting, 28 November"
    document.core_properties.author = "Website team"
    document.add_heading("Website team meeting, 28 November", level=0)
    document.add_heading("Decisions", level=1)
    document.add_paragraph("The team agreed to move the website to a static site generator before the spring release.")
    document.add_paragraph("Comments on the blog will be switched off until spam filtering is in place.")
    document.add_heading("Action items", level=1)
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Task", "Owner", "Due")):
        cell.text = text
    for row in (("Migrate the website to the new host", "Priya Natarajan", "12 December"),
                ("Write the release announcement", "Tomasz Kowal", "5 December")):
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text
    document.add_heading("Next meeting", level=1)
    document.add_paragraph("The next meeting is on 12 December at 10:00 in the small conference room.")
    document.save(str(path))


if __name__ == "__main__":
    handbook_pdf(HERE / "harbour_handbook.pdf")
    meeting_docx(HERE / "meeting_notes.docx")
