"""Checkpoints of a training run, one file per round, from which NetTrain can resume.

``training_progress_checkpointing=("Directory", d)`` writes ``d/checkpoint-round0003.npz``
after each round: every array, the optimizer's state, the random generator's state and the
results so far. ``NetTrain(net, data, …, resume_from=d)`` (the newest file in ``d``, or a
given file) continues that run as if it had never stopped: with the same net, data and
options, training 2 rounds and resuming to 4 gives exactly the net of 4 rounds in one go.
The files hold numpy arrays and JSON only (no pickled code), so they are safe to load.
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np


def _key(prefix: str, path: tuple, name: str) -> str:
    return prefix + "|".join(path + (name,))


def checkpoint_dir(spec) -> str | None:
    """The directory of ``training_progress_checkpointing`` (made when training starts)."""
    if spec is None:
        return None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "Directory":
        path = os.fspath(spec[1])
    elif isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
    else:
        raise ValueError(
            'NetTrain: training_progress_checkpointing must be ("Directory", path) or a path; '
            f"received {spec!r}."
        )
    return path


def save(directory: str, rnd: int, *, params: dict, opt, rng, state: dict) -> str:
    arrays = {}
    for (path, name), w in params.items():
        arrays[_key("p:", path, name)] = w
    for (path, name), moments in opt.state.items():
        for i, m in enumerate(moments):
            arrays[_key(f"o{i}:", path, name)] = m
    best = state.get("best")
    if best is not None:
        for (path, name), w in best[2].items():
            arrays[_key("b:", path, name)] = w
    meta = {
        "round": rnd,
        "optimizer_t": opt.t,
        "rng": rng.bit_generator.state,
        "best": None if best is None else [best[0], best[1]],
        **{k: v for k, v in state.items() if k != "best"},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    file = os.path.join(directory, f"checkpoint-round{rnd:04d}.npz")
    tmp = file + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, file)
    return file


def latest(where: str) -> str:
    if os.path.isdir(where):
        files = sorted(glob.glob(os.path.join(where, "checkpoint-round*.npz")))
        files = [f for f in files if not f.endswith(".tmp.npz")]
        if not files:
            raise ValueError(f"NetTrain: resume_from: no checkpoint-round*.npz file in {where!r}.")
        return files[-1]
    if not os.path.isfile(where):
        raise ValueError(
            f"NetTrain: resume_from: {where!r} is neither a checkpoint file nor a directory."
        )
    return where


def load(where, params: dict, opt, rng) -> dict:
    """Restore arrays, optimizer and generator in place; returns the saved run state."""
    file = latest(os.fspath(where))
    with np.load(file, allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        for (path, name), w in params.items():
            k = _key("p:", path, name)
            if k not in z or z[k].shape != w.shape:
                raise ValueError(
                    f"NetTrain: the checkpoint {file!r} does not fit this net: array "
                    f"{'/'.join(path + (name,))!r} is {'missing' if k not in z else z[k].shape} there, "
                    f"{w.shape} here. Resume with the same net and options."
                )
            w[...] = z[k]
        for (path, name), moments in opt.state.items():
            for i, m in enumerate(moments):
                m[...] = z[_key(f"o{i}:", path, name)]
        best = None
        if meta["best"] is not None:
            best = (meta["best"][0], meta["best"][1], {k: z[_key("b:", *k)].copy() for k in params})
    opt.t = meta["optimizer_t"]
    rng.bit_generator.state = meta["rng"]
    meta["best"] = best
    return meta
