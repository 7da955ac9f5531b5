#!/usr/bin/env python3
"""A small OpenAI-compatible speech-to-text server for the tests.

    server.py --port PORT --model DIR

Serves POST /v1/audio/transcriptions (multipart/form-data with `file` and
`model`, as the OpenAI API and async-openai send it; answers
{"text": ...}) and GET /v1/models, on 127.0.0.1 only, with faster-whisper
and the CTranslate2 Whisper weights in DIR. One request at a time.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import os
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, HTTPServer

from faster_whisper import WhisperModel

MODEL_NAME = "whisper-tiny.en"
MAX_BODY = 64 << 20


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields: name -> (file name, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


class Handler(BaseHTTPRequestHandler):
    model: WhisperModel

    def answer(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status: int, message: str) -> None:
        self.answer(status, {"error": {"message": message, "type": "invalid_request_error"}})

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/models":
            self.answer(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
        else:
            self.error(404, "not found")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") != "/v1/audio/transcriptions":
            return self.error(404, "not found")
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            return self.error(413 if length > MAX_BODY else 400, "a body of 1 byte to 64 MiB is needed")
        fields = parse_multipart(self.headers.get("Content-Type", ""), self.rfile.read(length))
        if "file" not in fields:
            return self.error(400, "no file field")
        _, audio = fields["file"]
        with tempfile.NamedTemporaryFile(suffix=".audio") as f:
            f.write(audio)
            f.flush()
            try:
                segments, info = self.model.transcribe(f.name, vad_filter=False, beam_size=1)
                text = " ".join(s.text.strip() for s in segments).strip()
            except Exception as e:  # undecodable audio is the client's problem
                return self.error(400, f"cannot transcribe: {e}")
        # As OpenAI answers: the text and the audio's duration.
        self.answer(200, {"text": text, "usage": {"type": "duration", "seconds": info.duration}})

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("whisper: " + fmt % args + "\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    args = ap.parse_args()
    threads = int(os.environ.get("GRAPHFS_WHISPER_THREADS", "2"))
    Handler.model = WhisperModel(args.model, device="cpu", compute_type="int8", cpu_threads=threads)
    HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
