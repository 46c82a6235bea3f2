"""Interop with a real third-party OpenAI-compatible server: the LiteLLM proxy.

A pinned litellm[proxy] is installed once into a cached virtual environment outside the
repo, started on 127.0.0.1 with mock-response models (no network needed), and stopped by
its process id. otchat is not told which server this is: it meets what LiteLLM sends.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

LITELLM = "litellm[proxy]==1.108.7"
CACHE = Path(os.environ.get("OTCHAT_TEST_CACHE", Path.home() / ".cache" / "otchat-tests"))
VENV = CACHE / "litellm-1.108.7"
MASTER_KEY = "sk-otchat-litellm-master-7f3a"
CONFIG = """
model_list:
  - model_name: mock-text
    litellm_params: {model: openai/gpt-4o-mini, api_key: fake-upstream-key,
                     mock_response: "Hello from LiteLLM, streamed in pieces."}
  - model_name: mock-429
    litellm_params: {model: openai/gpt-4o-mini, api_key: fake-upstream-key, mock_response: "litellm.RateLimitError"}
  - model_name: mock-500
    litellm_params: {model: openai/gpt-4o-mini, api_key: fake-upstream-key,
                     mock_response: "litellm.InternalServerError"}
  - model_name: mock-tool
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: fake-upstream-key
      mock_tool_calls:
        - {id: call_abc, type: function, function: {name: get_weather, arguments: '{"city": "Oslo"}'}}
general_settings:
  master_key: %s
litellm_settings:
  num_retries: 0
""" % MASTER_KEY  # noqa: UP031 (the YAML's braces would all need doubling in a format string)


# The suite runs in parallel workers: these tests share one worker (one proxy started), and
# the install is locked, so two test runs at once never build the environment twice.
pytestmark = pytest.mark.xdist_group("litellm")


def install() -> Path:
    import fcntl

    executable = VENV / "bin" / "litellm"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "litellm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (VENV / ".installed").exists() and executable.exists():
            return executable
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", LITELLM],
                       check=True, timeout=900)
        (VENV / ".installed").write_text(LITELLM)
    return executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def litellm(tmp_path_factory):
    executable = install()
    workdir = tmp_path_factory.mktemp("litellm")
    (workdir / "config.yaml").write_text(CONFIG)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("OPENAI")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="*", LITELLM_TELEMETRY="False")
    log = open(workdir / "litellm.log", "wb")
    proc = subprocess.Popen([str(executable), "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
                             "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health/liveliness", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise RuntimeError("LiteLLM did not start:\n" + (workdir / "litellm.log").read_text()[-3000:])
        time.sleep(0.5)
    yield f"{url}/v1"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.fixture
def against(litellm, otchat):
    def run(*args, key=MASTER_KEY, **kw):
        result = otchat(*args, env={"OTCHAT_BASE_URL": litellm}, key=key, **kw)
        assert MASTER_KEY not in result.stdout + result.stderr
        return result

    return run


def test_streamed_text_and_usage(against):
    r = against("-m", "mock-text", "-u", "hi")
    assert (r.code, r.stdout) == (0, "Hello from LiteLLM, streamed in pieces.\n")
    assert "usage:" in r.stderr and " in · " in r.stderr and " out · " in r.stderr


def test_non_streamed_text_and_json(against):
    r = against("-m", "mock-text", "--no-stream", "--json", "hi")
    data = json.loads(r.stdout)
    assert r.code == 0 and data["content"] == "Hello from LiteLLM, streamed in pieces."
    assert data["finish_reason"] == "stop" and data["usage"]["total_tokens"] > 0


def test_models(against):
    r = against("models", "--refresh")
    assert r.code == 0 and r.stdout.split() == ["mock-text", "mock-429", "mock-500", "mock-tool"]


def test_unknown_model_is_a_400(against):
    r = against("-m", "no-such-model", "hi", expect=4)
    assert r.code == 4 and "400" in r.stderr and "no-such-model" in r.stderr and len(r.stderr.splitlines()) == 1


def test_rate_limit_is_a_429(against):
    r = against("-m", "mock-429", "--retries", "0", "hi", expect=8)
    assert r.code == 8 and "429" in r.stderr and "RateLimitError" in r.stderr


def test_server_error_is_a_500(against):
    r = against("-m", "mock-500", "--retries", "0", "hi", expect=5)
    assert r.code == 5 and "500" in r.stderr and "InternalServerError" in r.stderr


def test_a_wrong_key(against):
    r = against("-m", "mock-text", "hi", key="sk-not-the-master-key", expect=(3, 4))
    # Without a database LiteLLM cannot look the key up and says so (a 400, not a 401).
    assert r.code in (3, 4) and r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert "sk-not-the-master-key" not in r.stderr


def test_a_tool_call_reply(against, tmp_path):
    function = tmp_path / "weather.json"
    function.write_text(json.dumps({"name": "get_weather", "parameters": {"type": "object",
                                    "properties": {"city": {"type": "string"}}}}))
    r = against("-m", "mock-tool", "--function", str(function), "--no-stream", "--json", "weather?")
    data = json.loads(r.stdout)
    assert r.code == 0
    assert data["tool_calls"] == [{"id": "call_abc", "type": "function",
                                   "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
    r = against("-m", "mock-tool", "--function", str(function), "--no-stream", "weather?")
    assert 'tool call: get_weather {"city":"Oslo"}' in r.stderr
