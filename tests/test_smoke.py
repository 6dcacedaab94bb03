"""The README's Python example runs as written."""
import re

from tests.conftest import ROOT


def test_readme_python_example_runs_and_prints_what_it_says(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## The Python API\n\n```python\n(.*?)```", readme, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip()
    promised = re.search(r"# (7 torch.Size\(\[.*?\]\))", code).group(1)
    assert printed == promised
