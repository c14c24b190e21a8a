"""Reads .eml files with Python's email package (an independent MIME
reader) and prints one JSON object per file: decoded subject, envelope and
header recipients, the MIME tree's content types, and the decoded text and
HTML parts.

usage: parse_eml.py FILE...
"""
import email
import email.policy
import json
import sys

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    parts = {"text/plain": None, "text/html": None}
    for part in msg.walk():
        if part.get_content_type() in parts and parts[part.get_content_type()] is None:
            parts[part.get_content_type()] = part.get_content()
    print(json.dumps({
        "file": path,
        "subject": str(msg["subject"]),
        "raw_subject": msg.get("subject").defects and "" or str(msg.get_all("subject")),
        "to": str(msg["to"]),
        "rcpt_to": str(msg["x-rcpt-to"] or ""),
        "message_id": str(msg["message-id"]),
        "types": [p.get_content_type() for p in msg.walk()],
        "charset": msg.get_param("charset", header="content-type") and str(msg.get_param("charset")),
        "text": parts["text/plain"],
        "html": parts["text/html"],
    }, ensure_ascii=False))
