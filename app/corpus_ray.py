"""The Ray engine of the corpus index: the same rows as the local engine, computed by a pool of workers.

Ray Data takes the corpus's sentences (read and numbered once, on the driver: reading text is a
thousand times cheaper than running BERT), `map_batches` sends batches to an actor pool whose
workers each load the model once (one GPU per worker when the cluster has GPUs), and a Datasink
appends each worker's rows to the LanceDB table directly (LanceDB commits concurrent appends one
after the other). `ray.init(address=...)` joins an existing cluster (the index folder must then be
storage every node sees, or an s3:// URI); without an address a local Ray is started on this machine.
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .corpus import CorpusSentence

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
SKIPPED = "_skipped"  # a column the workers add and the sink drops: words without pieces, per batch


class Embedder:
    """One Ray actor: loads the model once, then turns batches of sentences into rows."""

    def __init__(self, model_name: str, layers: Sequence[int], device: str | None, batch_size: int):
        from .models import load_model

        self.model, self.tokenizer = _load_on(model_name, device) if device else load_model(model_name)
        self.layers, self.batch_size = list(layers), batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        from .corpus_index import embed_sentences, sentences_from_arrow

        rows, skipped = embed_sentences(self.model, self.tokenizer, sentences_from_arrow(batch), self.layers,
                                        self.batch_size)
        counts = [0] * rows.num_rows
        if counts:
            counts[0] = skipped
        return rows.append_column(SKIPPED, pa.array(counts, pa.int32()))


def _load_on(model_name: str, device: str):
    from bert_core import DEFAULT_MODEL, load_pretrained
    from bert_core.weights import resolve_checkpoint

    return load_pretrained(None if model_name == DEFAULT_MODEL else resolve_checkpoint(model_name), device=device)


def _sink(folder: str, table_name: str):
    from ray.data.block import BlockAccessor
    from ray.data.datasource import Datasink

    class LanceDBSink(Datasink):
        """Each write task appends its blocks to the index's LanceDB table; returns (rows, skipped words)."""

        def write(self, blocks: Iterable, ctx) -> tuple[int, int]:
            import lancedb

            table = lancedb.connect(folder).open_table(table_name)
            rows = skipped = 0
            for block in blocks:
                data = BlockAccessor.for_block(block).to_arrow()
                if SKIPPED in data.column_names:
                    skipped += int(pc.sum(data[SKIPPED]).as_py() or 0)
                    data = data.drop_columns([SKIPPED])
                if data.num_rows:
                    table.add(data)
                    rows += data.num_rows
            return rows, skipped

    return LanceDBSink()


def embed_with_ray(sentences: list[CorpusSentence], folder: Path, table_name: str, *, model_name: str,
                   layers: Sequence[int], device: str | None, batch_size: int, address: str | None = None,
                   workers: int | None = None, num_cpus: int | None = None) -> tuple[int, int]:
    """Append the rows of `sentences` to the table; (rows written, words skipped)."""
    import ray

    from .corpus_index import sentences_to_arrow

    if not sentences:
        return 0, 0
    started_here = not ray.is_initialized()
    if started_here:
        # Ray starts its processes with fork+exec; lancedb (already loaded here) warns about forks it need not fear
        warnings.filterwarnings("ignore", message="lancedb fork support")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local Ray; its workers import this package from the repository
            path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        on_gpu = gpus > 0 and (device is None or device.startswith("cuda"))
        # one CPU stays free for Ray Data's own tasks (the writes) when the workers use CPUs
        pool = workers or (gpus if on_gpu else max(1, cpus - 1))
        log.info("Ray: %d worker(s), %s", pool, "one GPU each" if on_gpu else "one CPU each")
        table = sentences_to_arrow(sentences)
        step = max(1, -(-table.num_rows // (pool * 4)))  # about four blocks per worker
        blocks = [table.slice(start, step) for start in range(0, table.num_rows, step)]
        rows = ray.data.from_arrow(blocks).map_batches(
            Embedder, batch_format="pyarrow", batch_size=batch_size * 8, compute=ray.data.ActorPoolStrategy(size=pool),
            num_gpus=1 if on_gpu else 0, num_cpus=1,
            fn_constructor_kwargs={"model_name": model_name, "layers": list(layers),
                                   "device": "cuda" if on_gpu else "cpu", "batch_size": batch_size})
        sink = _sink(str(folder), table_name)
        results: list[tuple[int, int]] = []
        sink.on_write_complete = lambda result: results.extend(result.write_returns)
        rows.write_datasink(sink, ray_remote_args={"num_cpus": 0.25})
        return sum(r for r, _ in results), sum(s for _, s in results)
    finally:
        if started_here:
            ray.shutdown()
