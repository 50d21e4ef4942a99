#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, fuzz/corpus/<target>/: tiny valid inputs of every kind each reader
accepts, plus a few near misses. No dataset file is copied; everything is generated here, so the
corpus is reproducible: python3 fuzz/make_corpus.py (then commit fuzz/corpus)."""
import base64
import gzip
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


# --- IDX: big-endian magic, dims, unsigned bytes -------------------------------------------------
def idx_images(n, rows, cols):
    pixels = bytes((i * 37) % 256 for i in range(n * rows * cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + pixels


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


put("idx", "images-2x3x3", idx_images(2, 3, 3))
put("idx", "images-1x1x1", idx_images(1, 1, 1))
put("idx", "images-0x2x2", idx_images(0, 2, 2))
put("idx", "labels-3", idx_labels([0, 9, 4]))
put("idx", "labels-0", idx_labels([]))
put("idx", "images-2x3x3.gz", gz(idx_images(2, 3, 3)))
put("idx", "labels-3.gz", gz(idx_labels([1, 2, 3])))
put("idx", "images-truncated", idx_images(2, 3, 3)[:-4])

# --- Kaggle CSV ----------------------------------------------------------------------------------
put("csv", "train.csv", b"label,pixel0,pixel1,pixel2,pixel3\n3,0,255,12,7\n0,1,2,3,4\n9,255,255,0,0\n")
put("csv", "test.csv", b"pixel0,pixel1,pixel2,pixel3\n0,255,12,7\n1,2,3,4\n")
put("csv", "train-crlf-bom.csv", b"\xef\xbb\xbflabel,pixel0,pixel1\r\n1,0,255\r\n2,17,3\r\n\r\n")
put("csv", "test-one-column.csv", b"pixel0\n7\n")
put("csv", "train-non-square.csv", b"label,a,b,c\n1,1,2,3\n")

# --- safetensors: 8-byte little-endian header length, JSON header, data -------------------------
def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, values)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        raw = struct.pack("<%d%s" % (len(values), "f" if dtype == "F32" else "d"), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def values(n, scale=0.1):
    return [((i * 7) % 11 - 5) * scale for i in range(n)]


def mlp_tensors(sizes, dtype="F32", prefix=""):
    tensors = []
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        tensors.append((prefix + "%d.weight" % (2 * l), dtype, [fan_out, fan_in], values(fan_out * fan_in)))
        tensors.append((prefix + "%d.bias" % (2 * l), dtype, [fan_out], values(fan_out, 0.01)))
    return tensors


MODEL_META = {"format": "pt", "cudamlp.sizes": "4,3,2", "cudamlp.activation": "relu",
              "cudamlp.output": "softmax", "cudamlp.input_scale": "pixel/255", "cudamlp.version": "1"}

put("safetensors", "f32-with-metadata", safetensors(mlp_tensors([4, 3, 2]), MODEL_META))
put("safetensors", "f64-no-metadata", safetensors([("x", "F64", [2, 2], [1.0, -2.0, 3.5, 0.0])]))
put("safetensors", "scalar-and-empty", safetensors([("s", "F32", [], [1.5]), ("e", "F32", [0, 3], [])]))
put("safetensors", "header-only", safetensors([], {"k": "v"}))

# --- models and checkpoints ---------------------------------------------------------------------
put("model", "model-4-3-2", safetensors(mlp_tensors([4, 3, 2]), MODEL_META))
# What cudamlp writes since 2026-12: the layer list too.
LAYERS_4_3_2 = json.dumps([{"activation": "relu", "in": 4, "out": 3}, {"activation": "none", "in": 3, "out": 2}],
                          separators=(",", ":"))
put("model", "model-4-3-2-layers", safetensors(mlp_tensors([4, 3, 2]), dict(MODEL_META, **{"cudamlp.layers": LAYERS_4_3_2})))
put("model", "model-pytorch-f64", safetensors(mlp_tensors([4, 2], "F64")))


def checkpoint(sizes, epoch, sample, batch, samples, epochs, version=1):
    """Format 1 (velocity.* tensors) or 2 (momentum_buffer.* tensors, cudamlp.optimizer)."""
    steps_per_epoch = -(-samples // batch)
    meta = dict(MODEL_META, **{"cudamlp.sizes": ",".join(map(str, sizes))})
    meta.update({
        "cudamlp.checkpoint": str(version),
        "cudamlp.position.epoch": str(epoch),
        "cudamlp.position.sample": str(sample),
        "cudamlp.position.step": str(epoch * steps_per_epoch + -(-sample // batch)),
        "cudamlp.position.epoch_loss_sum": "1.25",
        "cudamlp.position.epoch_correct": str(sample // 2),
        "cudamlp.run.epochs": str(epochs),
        "cudamlp.run.batch": str(batch),
        "cudamlp.run.lr": "0.1",
        "cudamlp.run.momentum": "0.9",
        "cudamlp.run.seed": "1",
        "cudamlp.run.shuffle": "true",
        "cudamlp.run.limit": "0",
        "cudamlp.data.samples": str(samples),
        "cudamlp.data.dim": str(sizes[0]),
        "cudamlp.data.classes": str(sizes[-1]),
        "cudamlp.data.checksum": "0123456789abcdef",
        "cudamlp.device": "reference",
    })
    if version == 1:
        return safetensors(mlp_tensors(sizes) + mlp_tensors(sizes, prefix="velocity."), meta)
    meta["cudamlp.optimizer"] = "sgd"
    return safetensors(mlp_tensors(sizes) + mlp_tensors(sizes, prefix="momentum_buffer."), meta)


put("model", "checkpoint-mid-epoch", checkpoint([4, 3, 2], 1, 8, 4, 10, 3))
put("model", "checkpoint-epoch-end", checkpoint([4, 2], 2, 0, 3, 7, 2))
put("model", "checkpoint-v2-mid-epoch", checkpoint([4, 3, 2], 1, 8, 4, 10, 3, version=2))


def golden(version="1", epochs=1, hidden=3):
    """A `cudamlp verify --record` file: a 2x2 synthetic set of 5 samples, batches of 2 (3 steps a pass)."""
    sizes = [4, hidden, 2]
    run = {"hidden": [hidden], "epochs": epochs, "batch": 2, "lr": 0.1, "optimizer": "sgd", "momentum": 0.9,
           "weight_decay": 0.0, "nesterov": False, "dropout": 0.0, "seed": "1",
           "data": {"kind": "synthetic", "samples": 5, "classes": 2, "rows": 2, "cols": 2, "seed": "1", "dim": 4,
                    "checksum": "0123456789abcdef"}}
    meta = dict(MODEL_META, **{"cudamlp.sizes": ",".join(map(str, sizes)), "cudamlp.golden.version": version,
                               "cudamlp.golden.run": json.dumps(run, separators=(",", ":"))})
    tensors = mlp_tensors(sizes) + [("golden.losses", "F32", [3], [0.7, 0.69, 0.68]),
                                    ("golden.probabilities", "F32", [5, 2], [0.5] * 10)]
    return safetensors(tensors, meta)


put("model", "golden", golden())
put("model", "golden-other-version", golden(version="2"))
put("model", "golden-other-flags", golden(epochs=2))

# --- run logs (cudamlp report's input): what train --log writes, and values at the edges -----------
def run_log(epochs, test=None, finished=True, settings=None):
    log = {"format": "cudamlp-run-log", "version": 1,
           "settings": settings if settings is not None else {"sizes": "4-3-2", "device": "cpu", "batch": 2, "lr": 0.1},
           "epochs": epochs, "finished": finished}
    if test is not None:
        log["test"] = test
    return json.dumps(log, indent=1).encode()


def epoch(e, loss, accuracy, test_loss=None, test_accuracy=None, seconds=0.5, speed=1000.0):
    record = {"epoch": e, "steps": 3 * e, "train_loss": loss, "train_accuracy": accuracy}
    if test_loss is not None:
        record["test_loss"] = test_loss
    if test_accuracy is not None:
        record["test_accuracy"] = test_accuracy
    record.update({"seconds": seconds, "samples_per_second": speed})
    return record


def test_set(confusion, rows=2, cols=2, mistakes=()):
    samples = sum(map(sum, confusion))
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    return {"samples": samples, "loss": 0.5, "accuracy": correct / samples if samples else 0.0,
            "classes": len(confusion), "confusion": confusion, "rows": rows, "cols": cols,
            "misclassified_total": samples - correct,
            "misclassified": [{"index": i, "label": label, "predicted": predicted, "probability": 0.75,
                               "pixels": base64.b64encode(bytes(rows * cols)).decode()}
                              for i, (label, predicted) in enumerate(mistakes)]}


EPOCHS = [epoch(1, 0.9, 0.6, 0.8, 0.65), epoch(2, 0.5, 0.8, 0.6, 0.7), epoch(3, 0.3, 0.9, 0.55, 0.75)]
put("run_log", "finished", run_log(EPOCHS, test_set([[3, 1], [0, 4]], mistakes=[(0, 1)])))
put("run_log", "unfinished-no-test", run_log(EPOCHS[:2], finished=False))
put("run_log", "no-epochs", run_log([], finished=False, settings={}))
put("run_log", "train-only", run_log([epoch(1, 0.7, 0.5), epoch(2, 0.4, 0.7)]))
put("run_log", "huge-values", run_log([epoch(2147483646, 1.7e308, 1.0, 0.0, 0.0, 1.7e308, 1.7e308),
                                       epoch(2147483647, 0.0, 0.0, 1.7976931348623157e308, 1.0)],
                                      test_set([[9223372036854775800, 7], [0, 0]])))
put("run_log", "flat-far-from-zero", run_log([epoch(1, 1e17, 0.5), epoch(2, 1e17 + 16, 0.5)]))
put("run_log", "subnormal", run_log([epoch(1, 5e-324, 0.0), epoch(2, 1e-323, 1e-300)]))

# --- regressions: inputs that once crashed a reader (kept as seeds so every run retries them) ---------
# nlohmann::json throws out_of_range, not parse_error, for a number beyond double's range.
put("safetensors", "regression-number-overflow", struct.pack("<Q", 16) + b'{"x":61e308}    ')
put("model", "regression-number-overflow", struct.pack("<Q", 16) + b'{"x":61e308}    ')

# --- pictures: PNG (written here with zlib, no imaging library) and PGM ----------------------------
import zlib


def png(width, height, color_type, bit_depth, rows, extra_chunks=()):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + b"".join(chunk(k, v) for k, v in extra_chunks)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


put("image", "gray8-4x3.png", png(4, 3, 0, 8, [bytes([0, 80, 160, 255])] * 3))
put("image", "rgb8-2x2.png", png(2, 2, 2, 8, [bytes([255, 0, 0, 0, 255, 0])] * 2))
put("image", "gray-alpha8-2x2.png", png(2, 2, 4, 8, [bytes([10, 0, 200, 255])] * 2))
put("image", "palette-2x1.png", png(2, 1, 3, 8, [bytes([0, 1])], [(b"PLTE", bytes([0, 0, 0, 255, 255, 255]))]))
put("image", "gray16-1x2.png", png(1, 2, 0, 16, [bytes([1, 2]), bytes([255, 255])]))
put("image", "gray1-8x1.png", png(8, 1, 0, 1, [bytes([0b10110010])]))
put("image", "p5-3x2.pgm", b"P5\n# a comment\n3 2\n255\n" + bytes([0, 50, 100, 150, 200, 250]))
put("image", "p5-16bit-2x1.pgm", b"P5 2 1 65535\n" + bytes([0, 1, 255, 255]))
put("image", "p2-2x2.pgm", b"P2\n2 2\n15\n0 5\n10 15\n")

# --- POST /predict bodies (fuzz_predict_request): the first byte picks the Content-Type, 0 JSON, 1 PNG,
# 2 PGM, 3 another type; the rest is the body ---------------------------------------------------------
digit = [bytes([0] * 8 + [255] * 4 + [0] * 8) for _ in range(12)]
put("predict_request", "json-one", b"\x00" + json.dumps({"pixels": [(i * 7) % 256 for i in range(784)]}).encode())
put("predict_request", "json-batch-2", b"\x00" + json.dumps({"pixels": [[0] * 784, [255] * 784]}).encode())
put("predict_request", "json-783", b"\x00" + json.dumps({"pixels": [1] * 783}).encode())
put("predict_request", "json-string", b'\x00{"pixels": ["a"]}')
put("predict_request", "json-float", b"\x00" + json.dumps({"pixels": [0.5] * 784}).encode())
put("predict_request", "png-digit", b"\x01" + png(20, 12, 0, 8, digit))
put("predict_request", "pgm-digit", b"\x02P5 20 12 255\n" + b"".join(digit))
put("predict_request", "other-type", b"\x03hello")

# --- NumPy .npy (fuzz_npy): the magic, a version, a little-endian header length, numpy's dict padded
# with spaces to a multiple of 64 bytes and a newline, then the data in C order ----------------------
def npy(descr, shape, data, fortran=False, version=1):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    length_bytes = 2 if version == 1 else 4
    prefix = 6 + 2 + length_bytes
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode("latin-1") + data


put("npy", "u1-3x4", npy("|u1", (3, 4), bytes(range(12))))
put("npy", "u1-2x2x3", npy("|u1", (2, 2, 3), bytes(range(12))))
put("npy", "f4-2x3", npy("<f4", (2, 3), struct.pack("<6f", 0.5, -1.0, 2.0, 0.0, 3.25, -7.5)))
put("npy", "f4-fortran-2x3", npy("<f4", (2, 3), struct.pack("<6f", 1, 2, 3, 4, 5, 6), fortran=True))
put("npy", "f4-v2-1x2", npy("<f4", (1, 2), struct.pack("<2f", 1.0, 2.0), version=2))
put("npy", "i8-labels-4", npy("<i8", (4,), struct.pack("<4q", 0, 1, 2, 1)))
put("npy", "u1-labels-3", npy("|u1", (3,), bytes([2, 0, 1])))
put("npy", "i4-labels-negative", npy("<i4", (2,), struct.pack("<2i", 0, -1)))
put("npy", "f8-other-dtype", npy("<f8", (1, 1), struct.pack("<d", 1.0)))
put("npy", "f4-big-endian", npy(">f4", (1, 1), struct.pack(">f", 1.0)))
put("npy", "f4-truncated", npy("<f4", (2, 2), struct.pack("<3f", 1, 2, 3)))
