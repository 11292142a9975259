"""Checks a training question file: loads, evidence is verbatim in its source, answers are in the evidence."""
import sys
from pathlib import Path

import yaml

path = Path(sys.argv[1])
data = yaml.safe_load(path.read_text())
root = path.with_suffix("")
errors, answerable, unanswerable = 0, 0, 0
seen = set()
for n, q in enumerate(data["questions"], 1):
    text = q.get("question", "")
    if text in seen:
        print(f"#{n}: duplicate question"); errors += 1
    seen.add(text)
    if q.get("answerable", True) is False:
        unanswerable += 1
        if not q.get("why_not"):
            print(f"#{n}: unanswerable without why_not"); errors += 1
        continue
    answerable += 1
    src = root / q["source"]
    if not src.is_file():
        print(f"#{n}: source {src} missing"); errors += 1; continue
    body = src.read_text(encoding="utf-8", errors="replace")
    ev = q["evidence"]
    if ev not in body:
        print(f"#{n}: evidence not verbatim in {q['source']}: {ev[:80]!r}"); errors += 1
    if not any(a.lower() in " ".join(ev.split()).lower() for a in q["answers"]):
        print(f"#{n}: no answer string appears in the evidence"); errors += 1
    if q.get("kind") not in {"howto", "fact", "troubleshoot", "yesno", "why", "code"}:
        print(f"#{n}: kind {q.get('kind')!r}"); errors += 1
print(f"{path.name}: {answerable} answerable, {unanswerable} unanswerable, {errors} errors")
sys.exit(1 if errors else 0)
