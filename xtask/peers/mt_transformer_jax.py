"""A transformer encoder-decoder with JAX (XLA CPU), the peer of Tessera's TransformerSeq2Seq.

Model and recipe are those of `translate::transformer` (TransformerConfig::small and
TransformerRecipe::default): 3 encoder and 3 decoder layers, 256 wide, 4 heads, ReLU MLP 1024,
pre-LayerNorm (eps 1e-5, with biases) and a final LayerNorm on each side, dropout 0.1 on the
embeddings and every residual branch, sinusoidal positions, one embedding table for source,
target and output (joint vocabulary), embeddings N(0, width^-1/2) times sqrt(width), other
weights N(0, 0.02) with residual projections N(0, 0.02/sqrt(2*layers)), zero biases; cross-
attention keys and values from one fused [width, 2*width] projection. Loss: cross-entropy with
label smoothing 0.1 (PyTorch's definition) averaged over real target tokens. Adam betas
(0.9, 0.98), eps 1e-9, no weight decay, no clipping; learning rate peak * min(s/warmup,
sqrt(warmup/s)) at 1-based step s (peak 1e-3, warm-up 1,000).

  python mt_transformer_jax.py step [steps] [warmup]   one jitted train step, ms/step (CSV row)
  python mt_transformer_jax.py train DIR [steps] [max_tokens] [warmup]
                                                       train on DIR's ids, greedy-decode the test
                                                       set, print sacreBLEU's BLEU and chrF

DIR holds pre-tokenised ids, written by Tessera so both sides read the same tokens:
  meta.json                   {"vocab": V, "pad": 0, "bos": 1, "eos": 2}
  {train,valid,test}.src.ids  one sentence per line, space-separated ids, no <s> or </s>
  {train,valid,test}.tgt.ids  the same for the targets
  vocab.hex                   line i: the bytes of token i in hex (empty for special tokens),
                              so a hypothesis detokenises to exactly the text Tessera would print
  test.ref                    the raw test references, one per line
Batches by tokens: training pairs sorted by (source, target) length and cut into runs whose
padded size max(len) * count stays within max_tokens (default 4096) on either side; the runs
are shuffled each epoch (seed 1) and padded to a multiple of 8 positions (padding carries no
loss and no attention; it only bounds how many shapes XLA compiles).

Threads: restrict with taskset (taskset -c 0 for one thread), XLA_FLAGS as bench_peers sets.
Output (step): CSV row section,impl,variant,threads,case,unit,median,p25,p75,min,max,n
"""
import json
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

LAYERS, WIDTH, HEADS, FF, DROPOUT, POSITIONS = 3, 256, 4, 1024, 0.1, 256
PEAK, WARMUP, BETAS, EPS, SMOOTHING = 1e-3, 1000, (0.9, 0.98), 1e-9, 0.1
# The bench's batch: 32 pairs, sources and targets of 20 positions, an 8,000-id vocabulary.
BENCH_VOCAB, BENCH_BATCH, BENCH_LEN = 8000, 32, 20
BENCH_CASE = f"mt_transformer_l{LAYERS}_w{WIDTH}_h{HEADS}_ff{FF}_v{BENCH_VOCAB}_b{BENCH_BATCH}_t{BENCH_LEN}_step"


def init(key, vocab):
    keys = iter(jax.random.split(key, 1 + 12 * LAYERS))
    normal = lambda shape, std=0.02: jax.random.normal(next(keys), shape) * std
    resid = 0.02 / math.sqrt(2 * LAYERS)
    ln = lambda: {"g": jnp.ones(WIDTH), "b": jnp.zeros(WIDTH)}
    dense = lambda i, o, std=0.02: {"w": normal((i, o), std), "b": jnp.zeros(o)}
    mlp = lambda: {"fc": dense(WIDTH, FF), "out": dense(FF, WIDTH, resid)}
    p = {"embed": normal((vocab, WIDTH), WIDTH ** -0.5), "enc": [], "dec": [], "enc_ln": ln(), "dec_ln": ln()}
    for _ in range(LAYERS):
        p["enc"].append({"ln1": ln(), "qkv": dense(WIDTH, 3 * WIDTH), "proj": dense(WIDTH, WIDTH, resid),
                         "ln2": ln(), "mlp": mlp()})
    for _ in range(LAYERS):
        p["dec"].append({"ln1": ln(), "qkv": dense(WIDTH, 3 * WIDTH), "proj": dense(WIDTH, WIDTH, resid),
                         "lnx": ln(), "q": dense(WIDTH, WIDTH), "kv": dense(WIDTH, 2 * WIDTH),
                         "xproj": dense(WIDTH, WIDTH, resid), "ln2": ln(), "mlp": mlp()})
    return p


def sinusoids(n, width):
    pos = np.arange(n)[:, None]
    i = np.arange(0, width, 2)[None, :]
    angle = pos / np.power(10000.0, i / width)
    table = np.zeros((n, width), np.float32)
    table[:, 0::2], table[:, 1::2] = np.sin(angle), np.cos(angle[:, : width // 2])
    return jnp.asarray(table)


SINUSOIDS = sinusoids(POSITIONS, WIDTH)


def layer_norm(x, p):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + 1e-5) * p["g"] + p["b"]


def dense(x, p):
    return x @ p["w"] + p["b"]


def heads(x):
    b, t, _ = x.shape
    return x.reshape(b, t, HEADS, WIDTH // HEADS).transpose(0, 2, 1, 3)


def attend(q, k, v, mask):
    """q [B,H,Tq,d], k and v [B,H,Tk,d], mask [B,1|H,Tq,Tk] (True = visible) -> [B,Tq,W]."""
    att = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(WIDTH // HEADS)
    att = jax.nn.softmax(jnp.where(mask, att, -1e30), -1)
    y = att @ v
    b, _, t, _ = y.shape
    return y.transpose(0, 2, 1, 3).reshape(b, t, WIDTH)


def dropout(x, key, train):
    if not train or DROPOUT == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - DROPOUT, x.shape)
    return jnp.where(keep, x / (1.0 - DROPOUT), 0.0)


def embed(p, ids):
    return p["embed"][ids] * math.sqrt(WIDTH) + SINUSOIDS[: ids.shape[1]]


def encode(p, src, src_len, key, train):
    keys = iter(jax.random.split(key, 1 + 2 * LAYERS))
    s = src.shape[1]
    pad = (jnp.arange(s)[None, :] < src_len[:, None])[:, None, None, :]  # [B,1,1,S]
    x = dropout(embed(p, src), next(keys), train)
    for blk in p["enc"]:
        q, k, v = (heads(a) for a in jnp.split(dense(layer_norm(x, blk["ln1"]), blk["qkv"]), 3, -1))
        x = x + dropout(dense(attend(q, k, v, pad), blk["proj"]), next(keys), train)
        h = dense(jax.nn.relu(dense(layer_norm(x, blk["ln2"]), blk["mlp"]["fc"])), blk["mlp"]["out"])
        x = x + dropout(h, next(keys), train)
    return layer_norm(x, p["enc_ln"]), pad


def decode(p, memory, pad, tgt_in, key, train):
    keys = iter(jax.random.split(key, 1 + 3 * LAYERS))
    t = tgt_in.shape[1]
    causal = jnp.tril(jnp.ones((t, t), bool))[None, None]
    x = dropout(embed(p, tgt_in), next(keys), train)
    for blk in p["dec"]:
        q, k, v = (heads(a) for a in jnp.split(dense(layer_norm(x, blk["ln1"]), blk["qkv"]), 3, -1))
        x = x + dropout(dense(attend(q, k, v, causal), blk["proj"]), next(keys), train)
        q = heads(dense(layer_norm(x, blk["lnx"]), blk["q"]))
        k, v = (heads(a) for a in jnp.split(dense(memory, blk["kv"]), 2, -1))
        x = x + dropout(dense(attend(q, k, v, pad), blk["xproj"]), next(keys), train)
        h = dense(jax.nn.relu(dense(layer_norm(x, blk["ln2"]), blk["mlp"]["fc"])), blk["mlp"]["out"])
        x = x + dropout(h, next(keys), train)
    return layer_norm(x, p["dec_ln"]) @ p["embed"].T


def loss_fn(p, src, src_len, tgt_in, tgt_out, tgt_len, key):
    k1, k2 = jax.random.split(key)
    memory, pad = encode(p, src, src_len, k1, True)
    logp = jax.nn.log_softmax(decode(p, memory, pad, tgt_in, k2, True))
    nll = -jnp.take_along_axis(logp, tgt_out[..., None], -1)[..., 0]
    smooth = -logp.mean(-1)
    real = (jnp.arange(tgt_in.shape[1])[None, :] < tgt_len[:, None]).astype(logp.dtype)
    return jnp.sum(((1 - SMOOTHING) * nll + SMOOTHING * smooth) * real) / jnp.maximum(real.sum(), 1.0)


@jax.jit
def train_step(p, m, v, t, lr, src, src_len, tgt_in, tgt_out, tgt_len, key):
    loss, g = jax.value_and_grad(loss_fn)(p, src, src_len, tgt_in, tgt_out, tgt_len, key)
    b1, b2 = BETAS

    def update(w, gw, mw, vw):
        mw = b1 * mw + (1 - b1) * gw
        vw = b2 * vw + (1 - b2) * gw * gw
        mh, vh = mw / (1 - b1 ** t), vw / (1 - b2 ** t)
        return w - lr * mh / (jnp.sqrt(vh) + EPS), mw, vw

    out = jax.tree_util.tree_map(update, p, g, m, v)
    is_triple = lambda x: isinstance(x, tuple) and len(x) == 3
    pick = lambda i: jax.tree_util.tree_map(lambda x: x[i], out, is_leaf=is_triple)
    return pick(0), pick(1), pick(2), loss


def lr_at(step, warmup=WARMUP):
    s = step + 1
    return PEAK * min(s / warmup, math.sqrt(warmup / s))


def pad_rows(rows, width, fill):
    out = np.full((len(rows), width), fill, np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def make_batch(pairs, meta, multiple=1):
    """(src, src_len, tgt_in, tgt_out, tgt_len) for a list of (source ids, target ids), padded
    to a multiple of `multiple` positions on each side (fewer shapes for jit to compile)."""
    up = lambda n: -(-n // multiple) * multiple
    s = up(max(len(a) for a, _ in pairs))
    t = up(max(len(b) for _, b in pairs) + 1)
    src = pad_rows([a for a, _ in pairs], s, meta["pad"])
    tgt_in = pad_rows([[meta["bos"]] + b for _, b in pairs], t, meta["pad"])
    tgt_out = pad_rows([b + [meta["eos"]] for _, b in pairs], t, meta["pad"])
    lens = lambda xs: np.array(xs, np.int32)
    return (jnp.asarray(src), jnp.asarray(lens([len(a) for a, _ in pairs])), jnp.asarray(tgt_in),
            jnp.asarray(tgt_out), jnp.asarray(lens([len(b) + 1 for _, b in pairs])))


def step_bench(steps, warmup):
    p = init(jax.random.PRNGKey(0), BENCH_VOCAB)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, p)
    rng = np.random.default_rng(0)
    # Lengths 20, 19, .., 16 repeating: padding on both sides, as in real batches.
    lengths = [BENCH_LEN - i % 5 for i in range(BENCH_BATCH)]
    pairs = [(list(rng.integers(3, BENCH_VOCAB, n)), list(rng.integers(3, BENCH_VOCAB, n - 1))) for n in lengths]
    batch = make_batch(pairs, {"pad": 0, "bos": 1, "eos": 2})
    key = jax.random.PRNGKey(1)
    for _ in range(warmup):
        jax.block_until_ready(train_step(p, zeros, zeros, 1.0, 1e-3, *batch, key))
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        jax.block_until_ready(train_step(p, zeros, zeros, 1.0, 1e-3, *batch, key))
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    q = lambda f: ts[round((len(ts) - 1) * f)]
    threads = os.environ.get("THREADS", str(len(os.sched_getaffinity(0))))
    print(f"train,jax-{jax.__version__}-xla-cpu,jit,{threads},{BENCH_CASE},ms/step,"
          f"{q(.5):.3f},{q(.25):.3f},{q(.75):.3f},{ts[0]:.3f},{ts[-1]:.3f},{len(ts)}", flush=True)


def read_ids(path):
    with open(path, encoding="utf-8") as f:
        return [[int(t) for t in line.split()] for line in f.read().splitlines()]


def token_batches(pairs, max_tokens, rng):
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    batches, run, longest = [], [], 0
    for i in order:
        size = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if run and max(longest, size) * (len(run) + 1) > max_tokens:
            batches.append(run)
            run, longest = [], 0
        run.append(i)
        longest = max(longest, size)
    if run:
        batches.append(run)
    rng.shuffle(batches)
    return batches


@jax.jit
def greedy_logits(p, src, src_len, tgt_in):
    memory, pad = encode(p, src, src_len, jax.random.PRNGKey(0), False)
    return decode(p, memory, pad, tgt_in, jax.random.PRNGKey(0), False)


def greedy(p, sources, meta, batch=64):
    """Greedy decoding (recomputing the prefix each step), at most 2 * len(source) + 10 tokens."""
    out = []
    for start in range(0, len(sources), batch):
        chunk = sources[start:start + batch]
        src = jnp.asarray(pad_rows(chunk, max(len(s) for s in chunk), meta["pad"]))
        src_len = jnp.asarray(np.array([len(s) for s in chunk], np.int32))
        limit = min(POSITIONS, 2 * max(len(s) for s in chunk) + 10)
        tgt = np.full((len(chunk), limit + 1), meta["pad"], np.int32)
        tgt[:, 0] = meta["bos"]
        done = np.zeros(len(chunk), bool)
        for t in range(limit):
            logits = greedy_logits(p, src, src_len, jnp.asarray(tgt[:, : limit]))
            nxt = np.asarray(jnp.argmax(logits[:, t], -1))
            tgt[:, t + 1] = np.where(done, meta["pad"], nxt)
            done |= nxt == meta["eos"]
            if done.all():
                break
        for row in tgt[:, 1:]:
            ids = list(row)
            out.append(ids[: ids.index(meta["eos"])] if meta["eos"] in ids else ids)
    return out


def detokenise(ids, pieces):
    return b"".join(pieces[i] for i in ids if i < len(pieces)).decode("utf-8", errors="replace")


def train(folder, steps, max_tokens, warmup):
    import sacrebleu

    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    with open(os.path.join(folder, "vocab.hex"), encoding="utf-8") as f:
        pieces = [bytes.fromhex(line.strip()) for line in f.read().splitlines()]
    pairs = list(zip(read_ids(os.path.join(folder, "train.src.ids")), read_ids(os.path.join(folder, "train.tgt.ids"))))
    test_src = read_ids(os.path.join(folder, "test.src.ids"))
    with open(os.path.join(folder, "test.ref"), encoding="utf-8") as f:
        refs = f.read().splitlines()
    p = init(jax.random.PRNGKey(1), meta["vocab"])
    m = jax.tree_util.tree_map(jnp.zeros_like, p)
    v = jax.tree_util.tree_map(jnp.zeros_like, p)
    rng, key = np.random.default_rng(1), jax.random.PRNGKey(2)
    print(f"{len(pairs):,} training pairs, vocabulary {meta['vocab']}; {steps} steps of <= {max_tokens} tokens",
          flush=True)
    t0, step, step_ms = time.perf_counter(), 0, []
    while step < steps:
        for run in token_batches(pairs, max_tokens, rng):
            if step == steps:
                break
            key, sub = jax.random.split(key)
            batch = make_batch([pairs[i] for i in run], meta, multiple=8)
            s0 = time.perf_counter()
            p, m, v, loss = train_step(p, m, v, float(step + 1), lr_at(step, warmup), *batch, sub)
            jax.block_until_ready(loss)
            step_ms.append((time.perf_counter() - s0) * 1e3)
            step += 1
            if step % 250 == 0 or step == steps:
                print(f"step {step}: loss {float(loss):.4f}, {time.perf_counter() - t0:.1f} s", flush=True)
    hyps = [detokenise(ids, pieces) for ids in greedy(p, test_src, meta)]
    bleu = sacrebleu.corpus_bleu(hyps, [refs])
    chrf = sacrebleu.corpus_chrf(hyps, [refs])
    print(f"median step {sorted(step_ms)[len(step_ms) // 2]:.1f} ms; test greedy BLEU {bleu.score:.2f}, "
          f"chrF {chrf.score:.2f} ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "step"
    if mode == "step":
        step_bench(int(sys.argv[2]) if len(sys.argv) > 2 else 20, int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    else:
        arg = lambda i, default: int(sys.argv[i]) if len(sys.argv) > i else default
        train(sys.argv[2], arg(3, 4000), arg(4, 4096), arg(5, WARMUP))
