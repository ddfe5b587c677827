"""The classic runner's approach, as small as it gets: the bench's reference client for a whole system.

Usage: JUPYTER_TOKEN=... classic-client.py HOST:PORT /path/nb.ipynb

Reads the notebook through the contents API, starts a kernel (POST /api/kernels), opens its channel
WebSocket (websocket-client), sends every code cell's execute_request at once, is done at the last
cell's execute_reply and idle status, deletes the kernel and waits for the DELETE. Prints one JSON line: the last
execute_result's text/plain and the kernel id. The bench measures its CPU from outside, as for the Node clients.
"""
import http.client
import json
import os
import sys
import uuid

import websocket


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    path = sys.argv[2].lstrip("/")
    headers = {"Authorization": f"token {os.environ['JUPYTER_TOKEN']}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def call(method, url, body=None, expect=200):
        conn.request(method, url, body=None if body is None else json.dumps(body), headers=headers)
        res = conn.getresponse()
        data = res.read()
        if res.status != expect:
            raise SystemExit(f"{method} {url}: {res.status} {data[:200]!r}")
        return json.loads(data) if data else None

    nb = call("GET", f"/api/contents/{path}?type=notebook&content=1")["content"]
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name", "python3")
    kernel = call("POST", "/api/kernels", {"name": name}, expect=201)["id"]
    try:
        session = uuid.uuid4().hex
        ws = websocket.create_connection(f"ws://{host}:{port}/api/kernels/{kernel}/channels?session_id={session}",
                                         header=[f"Authorization: {headers['Authorization']}"], timeout=120)
        ids = []
        frames = []
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            msg_id = uuid.uuid4().hex
            ids.append(msg_id)
            frames.append(json.dumps({
                "header": {"msg_id": msg_id, "session": session, "username": "classic", "msg_type": "execute_request",
                           "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": "".join(cell["source"]), "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            }))
        for frame in frames:
            ws.send(frame)
        # Done at the last cell's execute_reply and its iopub idle (its result may come after the reply).
        last, results, replied, idle = ids[-1], {}, False, False
        while not (replied and idle):
            msg = json.loads(ws.recv())
            parent = msg.get("parent_header", {}).get("msg_id")
            kind = msg["header"]["msg_type"]
            if kind == "execute_result":
                results[parent] = msg["content"]["data"].get("text/plain")
            elif kind == "execute_reply" and parent == last:
                if msg["content"]["status"] != "ok":
                    raise SystemExit(f"cell failed: {msg['content'].get('ename')}")
                replied = True
            elif kind == "status" and parent == last and msg["content"]["execution_state"] == "idle":
                idle = True
        ws.close()
    finally:
        call("DELETE", f"/api/kernels/{kernel}", expect=204)
    print(json.dumps({"last": results.get(last), "kernel": kernel}))


if __name__ == "__main__":
    main()
