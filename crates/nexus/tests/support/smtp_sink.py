"""A real SMTP server for the Nexus tests: accepts every message and keeps it as a file.

Usage: python smtp_sink.py DIR [--port PORT]

Listens on 127.0.0.1:PORT (a free port when PORT is 0 or not given) and prints the port on
stdout as its first line once it accepts connections, so a caller can both learn the port
and know the server is ready. Every message it accepts is written into DIR as
`<n>-<nanoseconds>.eml` (the bytes received, unmodified), first as a dot-file and then
renamed, so a reader never sees half a message. It offers no STARTTLS and no AUTH: a client
that insists on TLS must give up rather than send in clear text. SIGTERM or SIGINT stops it
cleanly (exit status 0).

Needs aiosmtpd (pinned at 1.4.6 by the CI script).
"""

import argparse
import asyncio
import itertools
import os
import signal
import socket
import sys
import time

from aiosmtpd.smtp import SMTP


class Sink:
    """aiosmtpd handler: every message is accepted and written whole into `directory`."""

    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        name = f"{next(self.counter):06d}-{time.time_ns()}.eml"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


async def serve(directory, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    sock.setblocking(False)
    handler = Sink(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.localhost"), sock=sock
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(sock.getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where received messages are written")
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    asyncio.run(serve(args.directory, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
