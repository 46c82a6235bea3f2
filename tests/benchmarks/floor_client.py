"""The language floor: the least a Python client must do to stream an answer to stdout.

http.client, large reads, split lines, json.loads each `data:` event, write the content.
    python tests/benchmarks/floor_client.py URL
"""

import http.client
import json
import sys
from urllib.parse import urlsplit

url = urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True})
conn.request("POST", url.path, body, {"Content-Type": "application/json"})
response, out, rest = conn.getresponse(), sys.stdout, b""
while block := response.read1(65536):
    *lines, rest = (rest + block).split(b"\n")
    for line in lines:
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            choices = json.loads(line[6:])["choices"]
            out.write((choices and choices[0]["delta"].get("content")) or "")
    out.flush()
