"""A real SMTP server for the email tests: aiosmtpd on 127.0.0.1, writing
each received message to a folder as NNNN.eml (envelope recipients in an
X-Rcpt-To header first). Prints "ready PORT" once it listens.

usage: smtp_sink.py FOLDER [PORT]   (PORT 0 or absent: a free port)
"""
import os
import socket
import sys

from aiosmtpd.controller import Controller


class FolderHandler:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.folder, "%04d.eml" % self.count)
        head = "X-Rcpt-To: %s\r\nX-Mail-From: %s\r\n" % (
            ", ".join(envelope.rcpt_tos),
            envelope.mail_from,
        )
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        os.rename(tmp, path)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    folder = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    port = port or free_port()
    os.makedirs(folder, exist_ok=True)
    controller = Controller(FolderHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready %d" % port, flush=True)
    try:
        # Runs until the test closes our stdin (or kills us).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
