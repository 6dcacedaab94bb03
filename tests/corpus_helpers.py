"""Shared by the corpus index tests: tiny random checkpoints and a small corpus."""
from __future__ import annotations

from pathlib import Path

import transformers

from tests.test_bert_parity import hf_config, randomize, save_checkpoint

TEXT = """The cat sat on the mat.
A dog sat on the cat!

the mat, the dog.
The dog sat on a mat, then the cat sat on the dog.
On the mat sat the cat.
"""

CONLLU = """# sent_id = s1
1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tcat\tcat\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\tsat\tsit\tVERB\t_\t_\t0\troot\t_\t_
4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

# sent_id = s2
1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\tsat\tsit\tVERB\t_\t_\t0\troot\t_\t_
4\ton\ton\tADP\t_\t_\t6\tcase\t_\t_
5\tthe\tthe\tDET\t_\t_\t6\tdet\t_\t_
6\tcat\tcat\tNOUN\t_\t_\t3\tobl\t_\t_

"""


def tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A random-weight BERT of the `test` preset (2 layers, hidden 32) with a small vocabulary."""
    model = transformers.BertModel._from_config(hf_config("test"), attn_implementation="eager").eval()
    randomize(model, seed)
    return save_checkpoint(model, folder, "safetensors")


def corpus_folder(folder: Path) -> Path:
    """A folder corpus: a text file and a CoNLL-U file (read in that order: sorted names)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(TEXT, encoding="utf-8")
    (folder / "b.conllu").write_text(CONLLU, encoding="utf-8")
    return folder
