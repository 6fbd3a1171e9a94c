"""Model folders: ``config.json`` + ``model.safetensors`` + vocabularies, written atomically.

Every task saves the same way::

    model/
      config.json          {"seqlab": "<version>", "kind": "tagger", "config": {...}, "vocabs": [...]}
      model.safetensors    the weights
      vocab-<name>.json    one file per vocabulary (``seqlab.data.Vocab``)
      <name>.json          any other JSON a model needs (e.g. a trained tokenizer), listed in "files"

``save_folder`` writes everything into a temporary sibling folder and renames it into place, so a failed
or interrupted save never leaves a half-written model and never damages the model that was there.
``load_folder`` says exactly what is missing, truncated or foreign.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from torch import Tensor
from torch.nn import Module

from seqlab.data import Vocab

__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "ModelFolder", "load_folder", "load_weights", "save_folder"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ModelFolder(NamedTuple):
    """What ``load_folder`` read."""

    config: dict[str, Any]
    weights: dict[str, Tensor]
    vocabs: dict[str, Vocab]
    files: dict[str, Any]  # the extra JSON files, by name


def save_folder(
    path: str | os.PathLike[str],
    kind: str,
    config: Mapping[str, Any],
    state_dict: Mapping[str, Tensor],
    vocabs: Mapping[str, Vocab],
    files: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model folder at ``path`` (replacing one that is there only once the new one is complete)."""
    from safetensors.torch import save_file

    from seqlab import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        weights = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
        save_file(weights, str(tmp / WEIGHTS_FILE), metadata={"seqlab_kind": kind})
        for name, vocab in vocabs.items():
            vocab.save(tmp / f"vocab-{name}.json")
        files = dict(files or {})
        for name, content in files.items():
            if name in ("config", "model") or name.startswith("vocab-"):
                raise ValueError(f"save_folder: the extra file name {name!r} is reserved")
            text = json.dumps(content, ensure_ascii=False) + "\n"
            (tmp / f"{name}.json").write_text(text, encoding="utf-8")
        header = {"seqlab": __version__, "kind": kind, "config": dict(config), "vocabs": sorted(vocabs)}
        if files:
            header["files"] = sorted(files)
        (tmp / CONFIG_FILE).write_text(
            json.dumps(header, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if path.exists():
            old = path.parent / f".{path.name}.{secrets.token_hex(4)}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_folder(path: str | os.PathLike[str], kind: str, config_type: type | None = None) -> ModelFolder:
    """Read a model folder written by ``save_folder`` for a model of ``kind``.

    With ``config_type`` (a config dataclass), ``config`` comes back as ``config_type(**config)``; a config
    it does not accept (another version's fields) is a ValueError naming the folder.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_dir():
        raise ValueError(
            f"{path}: expected a seqlab model folder (with {CONFIG_FILE}, {WEIGHTS_FILE} and "
            f"vocabularies), but {'it is a file' if path.exists() else 'it does not exist'}"
        )
    config_path = path / CONFIG_FILE
    try:
        header = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{config_path}: missing; {path} is not a seqlab model folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{config_path}: not valid JSON ({err}); the file is damaged") from None
    if not isinstance(header, dict) or "kind" not in header or "config" not in header:
        raise ValueError(
            f"{config_path}: not a seqlab model config (expected keys 'seqlab', 'kind', 'config')"
        )
    if header["kind"] != kind:
        raise ValueError(f"{path}: holds a seqlab {header['kind']!r} model, expected a {kind!r} model")
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ValueError(f"{weights_path}: missing; the model folder is incomplete")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(
            f"{weights_path}: cannot be read ({err}); the file is truncated or not safetensors"
        ) from None
    vocabs = {}
    for name in header.get("vocabs", []):
        vocab_path = path / f"vocab-{name}.json"
        if not vocab_path.is_file():
            raise ValueError(f"{vocab_path}: missing; the model folder is incomplete")
        vocabs[name] = Vocab.load(vocab_path)
    files = {}
    for name in header.get("files", []):
        file_path = path / f"{name}.json"
        try:
            files[name] = json.loads(file_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{file_path}: missing; the model folder is incomplete") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{file_path}: not valid JSON ({err}); the file is damaged") from None
    config = header["config"]
    if config_type is not None:
        try:
            config = config_type(**config)
        except TypeError as err:
            raise ValueError(f"{path}: {CONFIG_FILE} does not describe a {kind} model ({err})") from None
    return ModelFolder(config, weights, vocabs, files)


def load_weights(model: Module, weights: Mapping[str, Tensor], path: str | os.PathLike[str]) -> Module:
    """Load ``weights`` (read from the folder ``path``) into ``model``; a ValueError naming the folder and
    the missing and unexpected names if they do not fit the model its config describes."""
    result = model.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f"{path}: the weights do not fit the config: missing {result.missing_keys}, "
            f"unexpected {result.unexpected_keys}"
        )
    return model
